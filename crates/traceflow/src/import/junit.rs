//! JUnit XML from any runner: pytest's `--junitxml` (`xunit2`, its default,
//! and `xunit1`), promptfoo's `.junit.xml`, DeepEval through pytest, and
//! whatever else writes `<testsuites>` / `<testsuite>`.
//!
//! The mapping:
//!
//! - **Run**: one per `<testsuite>` element (nested suites are runs of
//!   their own; a suite's testcases are its direct children). Its id is the
//!   suite's `name`, `@`, and its `timestamp` attribute as written
//!   (`pytest@2026-12-07T23:44:19.871336+00:00`): the same suite run twice
//!   is two runs. Without a `timestamp`, the id is the suite's name alone,
//!   every result's time is the file's modification time, and a note says
//!   so; with neither, the file is invalid. A timestamp without an offset
//!   (Maven Surefire writes local times) is read as UTC, said in a note.
//! - **Case**: `classname::name`, both kept whole (no prefix or suffix is
//!   stripped). pytest's parametrized id stays in the name: `test_agent`
//!   parametrized by `case-03` is `junit_suite::test_agent[case-03]`, and
//!   promptfoo's `test 3: case-03` keeps its number. A testcase without a
//!   `classname` is its `name` alone. The same case twice in one suite (a
//!   runner's reruns) is told apart by `repeat`, 0, 1, ... in file order.
//! - **Pass or fail**: a `<failure>` or `<error>` child fails the case; an
//!   `<error>`'s `message` (else its text, else its `type`) is the result's
//!   error. A `<skipped>` testcase is left out, and a note counts them.
//!   Surefire's `<flakyFailure>` / `<rerunFailure>` (a rerun that passed)
//!   are not failures.
//! - **Evaluation**: one, named `junit`: passed true or false, score 1 or 0,
//!   explanation the first failure's or error's message.
//! - **Latency**: the testcase's `time` (seconds) in milliseconds.
//! - **Labels**: `<properties>` of the suite (xunit2 and most runners) and
//!   of the testcase (xunit1's `record_property`); the testcase's win over
//!   the suite's of the same name.
//!
//! The file must be UTF-8 (an optional byte order mark is skipped); a
//! malformed document is invalid at the line the XML parser names.

use std::collections::{BTreeMap, HashMap};

use jiff::Timestamp;
use roxmltree::{Document, Node};

use super::{CaseResult, Evaluation, Invalid, Parsed, Source};

/// The evaluation every testcase gets.
const EVALUATION: &str = "junit";

/// Whether the file is in this format: after an optional byte order mark,
/// XML declaration, comments and doctype, its first element opens
/// `<testsuites` or `<testsuite`.
pub(crate) fn sniff(source: Source<'_>) -> bool {
    let mut rest = source.bytes;
    rest = rest.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(rest);
    loop {
        rest = trim_start(rest);
        let skipped = if rest.starts_with(b"<?") {
            skip_past(rest, b"?>")
        } else if rest.starts_with(b"<!--") {
            skip_past(rest, b"-->")
        } else if rest.starts_with(b"<!") {
            // A DOCTYPE's internal subset (`[...]`) holds `>`s of its own:
            // skipped whole, the file is JUnit and its reader refuses the DTD.
            let subset = rest.iter().position(|&b| b == b'[');
            match subset.filter(|&at| rest.iter().position(|&b| b == b'>') > Some(at)) {
                Some(_) => skip_past(rest, b"]").and_then(|after| skip_past(after, b">")),
                None => skip_past(rest, b">"),
            }
        } else {
            break;
        };
        match skipped {
            Some(after) => rest = after,
            None => return false,
        }
    }
    match rest.strip_prefix(b"<testsuite") {
        Some(after) => matches!(
            after.first(),
            Some(b's' | b' ' | b'\t' | b'\r' | b'\n' | b'>' | b'/')
        ),
        None => false,
    }
}

fn trim_start(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    bytes.get(start..).unwrap_or_default()
}

/// What follows the first `end` in `bytes`, if there is one.
fn skip_past<'a>(bytes: &'a [u8], end: &[u8]) -> Option<&'a [u8]> {
    let at = bytes.windows(end.len()).position(|w| w == end)?;
    bytes.get(at + end.len()..)
}

/// Reads the file.
pub(crate) fn parse(source: Source<'_>) -> Result<Parsed, Invalid> {
    let bytes = source
        .bytes
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(source.bytes);
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let valid = bytes.get(..e.valid_up_to()).unwrap_or_default();
        let line = 1 + valid.iter().filter(|&&b| b == b'\n').count();
        Invalid::at(format!("line {line}"), "not UTF-8")
    })?;
    let doc = Document::parse(text).map_err(|e| not_xml(text, &e))?;
    let root = doc.root_element();
    if !root.has_tag_name("testsuites") && !root.has_tag_name("testsuite") {
        return Err(Invalid::file(format!(
            "the root element is <{}>, not <testsuites> or <testsuite>",
            root.tag_name().name()
        )));
    }

    let mut parsed = Parsed::default();
    let mut skipped = 0usize;
    let mut unread_times = 0usize;
    for suite in root
        .descendants()
        .filter(|n| n.is_element() && n.has_tag_name("testsuite"))
    {
        let line = doc.text_pos_at(suite.range().start).row;
        let name = suite.attribute("name").unwrap_or_default();
        let what = || {
            if name.is_empty() {
                format!("testsuite at line {line}")
            } else {
                format!("testsuite {name:?} (line {line})")
            }
        };
        let (run, at) = suite_run(suite, name, &what(), source.modified, &mut parsed.notes)?;
        let suite_labels = properties(suite);
        let mut seen: HashMap<String, u32> = HashMap::new();
        for testcase in suite
            .children()
            .filter(|n| n.is_element() && n.has_tag_name("testcase"))
        {
            if child(testcase, "skipped").is_some() {
                skipped += 1;
                continue;
            }
            let case_line = doc.text_pos_at(testcase.range().start).row;
            let Some(case_name) = testcase.attribute("name") else {
                return Err(Invalid::at(
                    format!("testcase at line {case_line}"),
                    "no name attribute",
                ));
            };
            let case = match testcase.attribute("classname") {
                Some(class) if !class.is_empty() => format!("{class}::{case_name}"),
                _ => case_name.to_owned(),
            };
            let count = seen.entry(case.clone()).or_insert(0);
            let repeat = *count;
            *count = count.saturating_add(1);
            let mut result = CaseResult::new(run.clone(), case, at);
            result.repeat = repeat;
            if !outcome(testcase, &mut result) {
                unread_times += 1;
            }
            result.labels = suite_labels.clone();
            result.labels.extend(properties(testcase));
            parsed.results.push(result);
        }
    }
    if skipped > 0 {
        parsed
            .notes
            .push(format!("{skipped} skipped testcases left out"));
    }
    if unread_times > 0 {
        parsed.notes.push(format!(
            "{unread_times} testcases have a time attribute that is not a number of seconds; their latency is left out"
        ));
    }
    Ok(parsed)
}

/// A suite's run (`NAME@TIMESTAMP`, else its name alone) and time (its
/// timestamp, else the file's modification time, with a note).
fn suite_run(
    suite: roxmltree::Node<'_, '_>,
    name: &str,
    what: &str,
    modified: Option<Timestamp>,
    notes: &mut Vec<String>,
) -> Result<(String, Timestamp), Invalid> {
    match suite.attribute("timestamp").map(str::trim) {
        Some(stamp) if !stamp.is_empty() => {
            let at = match stamp.parse::<Timestamp>() {
                Ok(at) => at,
                Err(_) => match stamp.parse::<jiff::civil::DateTime>() {
                    Ok(local) => {
                        notes.push(format!(
                            "{what}: timestamp {stamp:?} has no offset; read as UTC"
                        ));
                        jiff::tz::TimeZone::UTC
                            .to_timestamp(local)
                            .map_err(|e| Invalid::at(what, format!("timestamp {stamp:?}: {e}")))?
                    }
                    Err(e) => {
                        return Err(Invalid::at(
                            what,
                            format!("timestamp {stamp:?} is not a date and time: {e}"),
                        ))
                    }
                },
            };
            Ok((format!("{name}@{stamp}"), at))
        }
        _ => match modified {
            Some(modified) => {
                notes.push(format!(
                    "{what}: no timestamp; the run is the suite's name alone and its time the file's modification time"
                ));
                Ok((name.to_owned(), modified))
            }
            None => Err(Invalid::at(
                what,
                "no timestamp, and the file's modification time is unknown",
            )),
        },
    }
}

/// A testcase's outcome into `result`: failed on `<failure>` or `<error>`
/// (an error's message its error), the `junit` evaluation, its latency;
/// false when its `time` is not a number of seconds.
fn outcome(testcase: roxmltree::Node<'_, '_>, result: &mut CaseResult) -> bool {
    let failure = child(testcase, "failure");
    let error = child(testcase, "error");
    result.passed = failure.is_none() && error.is_none();
    if let Some(error) = error {
        result.error = Some(message(error).unwrap_or_else(|| "error".to_owned()));
    }
    result.evaluations.push(Evaluation {
        name: EVALUATION.to_owned(),
        score: Some(if result.passed { 1.0 } else { 0.0 }),
        passed: Some(result.passed),
        explanation: failure.or(error).and_then(message),
        label: None,
    });
    match testcase.attribute("time").map(|t| t.trim().parse::<f64>()) {
        None => true,
        Some(Ok(seconds)) if seconds.is_finite() && seconds >= 0.0 => {
            result.latency_ms = Some(seconds * 1000.0);
            true
        }
        Some(_) => false,
    }
}

/// A parse error at the line roxmltree names; an error it gives no
/// position for is at the last line when the file ended early, else the
/// whole file's.
fn not_xml(text: &str, error: &roxmltree::Error) -> Invalid {
    use roxmltree::Error as E;
    let message = format!("not XML: {error}");
    match error {
        E::UnexpectedEndOfStream | E::UnclosedRootNode => {
            let last = 1 + text.bytes().filter(|&b| b == b'\n').count();
            Invalid::at(
                format!("line {last}"),
                format!("{message} (the file ends early)"),
            )
        }
        E::NoRootNode
        | E::DtdDetected
        | E::NodesLimitReached
        | E::AttributesLimitReached
        | E::NamespacesLimitReached => Invalid::file(message),
        _ => Invalid::at(format!("line {}", error.pos().row), message),
    }
}

/// The first child element of `node` named `name`.
fn child<'a, 'input>(node: Node<'a, 'input>, name: &str) -> Option<Node<'a, 'input>> {
    node.children()
        .find(|n| n.is_element() && n.has_tag_name(name))
}

/// A failure's or error's words: its `message`, else its text, else its
/// `type`.
fn message(node: Node<'_, '_>) -> Option<String> {
    [
        node.attribute("message"),
        node.text(),
        node.attribute("type"),
    ]
    .into_iter()
    .flatten()
    .map(str::trim)
    .find(|text| !text.is_empty())
    .map(str::to_owned)
}

/// The `<properties>` directly under `node`, by name (a property's value is
/// its `value` attribute, else its text).
fn properties(node: Node<'_, '_>) -> BTreeMap<String, String> {
    node.children()
        .filter(|n| n.is_element() && n.has_tag_name("properties"))
        .flat_map(|p| p.children())
        .filter(|n| n.is_element() && n.has_tag_name("property"))
        .filter_map(|p| {
            let name = p.attribute("name")?;
            let value = p
                .attribute("value")
                .or_else(|| p.text())
                .unwrap_or_default();
            Some((name.to_owned(), value.to_owned()))
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/import/");

    fn read(path: &str) -> Vec<u8> {
        std::fs::read(format!("{DIR}{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn source<'a>(name: &'a str, bytes: &'a [u8]) -> Source<'a> {
        Source {
            name,
            modified: None,
            bytes,
        }
    }

    fn parse_fixture(path: &str) -> Parsed {
        let bytes = read(path);
        let src = source(path, &bytes);
        assert!(sniff(src), "{path} not sniffed as JUnit");
        parse(src).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// `case-NN` from pytest's `junit_suite::test_agent[case-NN]`.
    fn short(case: &str) -> &str {
        case.rsplit_once('[')
            .and_then(|(_, id)| id.strip_suffix(']'))
            .unwrap_or(case)
    }

    #[test]
    fn every_pytest_run_matches_the_tools_own_totals() {
        let expected: serde_json::Value =
            serde_json::from_slice(&read("junit/expected.json")).unwrap();
        let runs = expected["runs"].as_array().unwrap();
        assert_eq!(runs.len(), 10);
        let mut failing: Vec<Vec<String>> = Vec::new();
        for run in runs {
            let file = run["file"].as_str().unwrap();
            let parsed = parse_fixture(&format!("junit/{file}"));
            let suite = &run["suites"][0];
            let tests = suite["tests"].as_u64().unwrap() as usize;
            let failed =
                (suite["failures"].as_u64().unwrap() + suite["errors"].as_u64().unwrap()) as usize;
            let skipped = suite["skipped"].as_u64().unwrap() as usize;
            assert_eq!(parsed.results.len(), tests - skipped, "{file}");
            assert_eq!(
                parsed.results.iter().filter(|r| !r.passed).count(),
                failed,
                "{file}"
            );
            assert_eq!(
                parsed.notes.iter().any(|n| n.contains("skipped")),
                skipped > 0,
                "{file}"
            );
            let first = &parsed.results[0];
            assert!(first.run.starts_with("pytest@2026-12-07T"), "{}", first.run);
            assert!(parsed
                .results
                .iter()
                .all(|r| r.run == first.run && r.repeat == 0));
            assert!(first.case.starts_with("junit_suite::test_agent[case-"));
            assert!(first.latency_ms.is_some());
            for r in &parsed.results {
                assert_eq!(r.evaluations.len(), 1);
                assert_eq!(r.evaluations[0].name, "junit");
                assert_eq!(r.evaluations[0].passed, Some(r.passed));
                assert_eq!(
                    r.evaluations[0].score,
                    Some(if r.passed { 1.0 } else { 0.0 })
                );
                assert_eq!(r.passed, r.evaluations[0].explanation.is_none());
            }
            failing.push(
                parsed
                    .results
                    .iter()
                    .filter(|r| !r.passed)
                    .map(|r| short(&r.case).to_owned())
                    .collect(),
            );
        }
        for (i, cases) in failing.iter().enumerate() {
            let run = i + 1;
            for broken in ["case-03", "case-07", "case-11"] {
                assert_eq!(cases.iter().any(|c| c == broken), run >= 7, "run {run}");
            }
            assert_eq!(
                cases.iter().any(|c| c == "case-05"),
                [2, 5, 9].contains(&run),
                "run {run}"
            );
        }
        // Distinct runs: each suite's timestamp is its own.
        let runs: std::collections::BTreeSet<_> = (1..=10)
            .map(|n| {
                parse_fixture(&format!("junit/run-{n:02}.xml")).results[0]
                    .run
                    .clone()
            })
            .collect();
        assert_eq!(runs.len(), 10);
    }

    #[test]
    fn xunit1_properties_become_labels() {
        let parsed = parse_fixture("junit/extra/run-07.xunit1.xml");
        assert_eq!(parsed.results.len(), 12);
        assert_eq!(parsed.results.iter().filter(|r| !r.passed).count(), 3);
        for r in &parsed.results {
            let correct = if r.passed { "1" } else { "0" };
            let quality = if r.passed { "0.9" } else { "0.2" };
            assert_eq!(r.labels.get("correct").map(String::as_str), Some(correct));
            assert_eq!(r.labels.get("quality").map(String::as_str), Some(quality));
        }
    }

    #[test]
    fn promptfoos_junit_reads() {
        let parsed = parse_fixture("promptfoo/junit/run-01.junit.xml");
        assert_eq!(parsed.results.len(), 12);
        assert!(parsed.results.iter().all(|r| r.passed));
        let first = &parsed.results[0];
        assert_eq!(first.run, "[echo] prompt 1@2026-12-07T23:56:48.759Z");
        assert_eq!(first.case, "[echo] prompt 1::test 1: case-01");
        assert_eq!(first.at.to_string(), "2026-12-07T23:56:48.759Z");
        assert_eq!(first.latency_ms, Some(6.0));
    }

    #[test]
    fn a_bare_testsuite_with_skips_errors_and_suite_properties() {
        let xml = br#"<?xml version="1.0"?>
<!-- written by hand -->
<testsuite name="s" timestamp="2026-01-02T03:04:05">
  <properties><property name="model" value="m1"/><property name="sha" value="abc"/></properties>
  <testcase classname="c" name="a" time="0.5"/>
  <testcase classname="c" name="b"><skipped message="no"/></testcase>
  <testcase classname="c" name="d"><error message="boom" type="E"/></testcase>
  <testcase classname="c" name="a" time="x"><properties><property name="model" value="m2"/></properties></testcase>
  <testcase name="e"><failure>assert 1 == 2</failure></testcase>
</testsuite>"#;
        let src = source("x.xml", xml);
        assert!(sniff(src));
        let parsed = parse(src).unwrap();
        let r = &parsed.results;
        assert_eq!(r.len(), 4);
        assert_eq!(r[0].run, "s@2026-01-02T03:04:05");
        assert_eq!(r[0].at.to_string(), "2026-01-02T03:04:05Z");
        assert_eq!((r[0].case.as_str(), r[0].repeat), ("c::a", 0));
        assert_eq!(r[0].latency_ms, Some(500.0));
        assert_eq!(r[0].labels.get("model").unwrap(), "m1");
        assert_eq!(r[1].error.as_deref(), Some("boom"));
        assert!(!r[1].passed);
        assert_eq!((r[2].case.as_str(), r[2].repeat), ("c::a", 1));
        assert_eq!(r[2].labels.get("model").unwrap(), "m2");
        assert_eq!(r[2].labels.get("sha").unwrap(), "abc");
        assert_eq!(r[2].latency_ms, None);
        assert_eq!(r[3].case, "e");
        assert!(!r[3].passed && r[3].error.is_none());
        assert_eq!(
            r[3].evaluations[0].explanation.as_deref(),
            Some("assert 1 == 2")
        );
        assert!(parsed
            .notes
            .iter()
            .any(|n| n == "1 skipped testcases left out"));
        assert!(parsed.notes.iter().any(|n| n.contains("no offset")));
        assert!(parsed
            .notes
            .iter()
            .any(|n| n.contains("not a number of seconds")));
    }

    #[test]
    fn no_timestamp_takes_the_files_time_or_is_invalid() {
        let xml =
            b"<testsuites><testsuite name=\"s\"><testcase name=\"a\"/></testsuite></testsuites>";
        let err = parse(source("x.xml", xml)).unwrap_err();
        assert!(err.to_string().contains("testsuite \"s\""), "{err}");
        let modified: Timestamp = "2026-03-04T05:06:07Z".parse().unwrap();
        let parsed = parse(Source {
            name: "x.xml",
            modified: Some(modified),
            bytes: xml,
        })
        .unwrap();
        assert_eq!(parsed.results[0].run, "s");
        assert_eq!(parsed.results[0].at, modified);
        assert!(parsed.notes.iter().any(|n| n.contains("modification time")));
    }

    #[test]
    fn bad_input_is_invalid_with_a_line() {
        let cases: &[(&[u8], &str)] = &[
            (
                b"<testsuites>\n<testsuite name=\"s\">\n<testcase name=\"a\" time=",
                "line 3: not XML",
            ),
            (
                b"<testsuites>\n<testsuite>\n</testsuites>",
                "line 3: not XML",
            ),
            (
                b"<testsuites>\n\n<bad\xFF/></testsuites>",
                "line 3: not UTF-8",
            ),
            (
                b"<testsuite name=\"s\" timestamp=\"yesterday\"/>",
                "testsuite \"s\"",
            ),
            (
                b"<testsuite name=\"s\" timestamp=\"2026-01-01T00:00:00Z\"><testcase/></testsuite>",
                "testcase at line 1",
            ),
            (b"<other/>", "root element"),
            (b"", "not XML"),
            (b"<!DOCTYPE x><testsuite/>", "not XML"),
        ];
        for (bytes, says) in cases {
            let err = parse(source("x.xml", bytes)).unwrap_err();
            assert!(err.to_string().contains(says), "{err} lacks {says}");
        }
    }

    #[test]
    fn sniff_looks_at_the_first_element_only() {
        for yes in [
            &b"<testsuites/>"[..],
            b"\xEF\xBB\xBF  <?xml version=\"1.0\"?>\n<!-- x --><testsuite name=\"a\">",
            b"<!DOCTYPE x><testsuites\n>",
        ] {
            assert!(sniff(source("x", yes)), "{}", String::from_utf8_lossy(yes));
        }
        for no in [
            &b""[..],
            b"<testsuitex/>",
            b"<?xml version=\"1.0\"",
            b"<!-- <testsuites>",
            b"<report><testsuites/></report>",
            b"{\"run\": 1}",
        ] {
            assert!(!sniff(source("x", no)), "{}", String::from_utf8_lossy(no));
        }
    }

    #[test]
    fn a_dtd_with_entities_is_junit_refused_not_expanded() {
        let laughs = br#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<testsuites><testsuite name="s"><testcase name="&lol3;"/></testsuite></testsuites>"#;
        assert!(sniff(source("lol.xml", laughs)));
        let err = parse(source("lol.xml", laughs)).unwrap_err();
        assert!(err.message.contains("DTD"), "{err}");
        let external = br#"<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><testsuite name="s"><testcase name="&e;"/></testsuite>"#;
        assert!(sniff(source("ext.xml", external)));
        assert!(parse(source("ext.xml", external))
            .unwrap_err()
            .message
            .contains("DTD"));
        assert!(sniff(source(
            "d.xml",
            b"<!DOCTYPE testsuites><testsuites/>"
        )));
        assert!(!sniff(source("d.xml", b"<!DOCTYPE x [<!ENTITY e \"v\">")));
    }
}
