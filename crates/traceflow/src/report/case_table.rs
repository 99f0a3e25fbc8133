//! The per-case comparison as rows of text: the terminal table, and the
//! cells and lines the Markdown, JUnit and HTML reports share.
//!
//! ```text
//! Cases by input: 60 cases in 3000 runs of 3000 traces; split at run 2000 (…), the total's step
//! 2 regressed, 1 newly failing, 55 stable, 2 untested (FDR 0.05, min-drop 5.0 points)
//!
//! Verdict        Id            Before          After          Change        p        q  Case
//! regressed      1a2b3c4d5e6f  48/50 (96.0%)   9/25 (36.0%)   -60.0 pts  <0.0001  <0.0001  grounded_qa: case 007 …
//! ```

use std::io;

use super::{columns, p_cell, printable, CaseListing};
use crate::cases::{short_text, CaseReport, CaseRow, CaseVerdict, Side};
use crate::text::{count, points};
use crate::trend::GroupBy;

/// Characters of a case's text shown in a table.
pub(super) const CASE_WIDTH: usize = 60;

/// The cases a report lists.
pub(super) fn listed(cases: &[CaseRow], listing: CaseListing) -> impl Iterator<Item = &CaseRow> {
    cases.iter().filter(move |c| match listing {
        CaseListing::News => c.verdict.is_news(),
        CaseListing::Flaky => c.verdict == CaseVerdict::Flaky,
        CaseListing::All => true,
    })
}

/// The listed cases' header and rows: the comparison's columns, or for the
/// flaky listing their pass chance.
pub(super) fn rows(
    cases: &[CaseRow],
    listing: CaseListing,
) -> (&'static [&'static str], Vec<Vec<String>>) {
    let listed = listed(cases, listing);
    if listing == CaseListing::Flaky {
        (
            &FLAKY_HEADER,
            listed.map(|c| flaky_cells(c).to_vec()).collect(),
        )
    } else {
        (&HEADER, listed.map(|c| cells(c).to_vec()).collect())
    }
}

/// The comparison's columns.
const HEADER: [&str; 8] = [
    "Verdict", "Id", "Before", "After", "Change", "p", "q", "Case",
];

/// A flaky case's columns.
const FLAKY_HEADER: [&str; 6] = ["Id", "Pass rate", "95% CI", "Decisions", "Where", "Case"];

/// Which columns hold numbers (right-aligned in Markdown and HTML).
pub(super) fn numeric(column: &str) -> bool {
    !matches!(column, "Verdict" | "Id" | "Where" | "Case")
}

pub(super) fn write(
    out: &mut dyn io::Write,
    report: &CaseReport,
    listing: CaseListing,
) -> io::Result<()> {
    writeln!(out, "{}", headline(report))?;
    writeln!(out, "{}", tally(report))?;
    let (header, rows) = rows(&report.cases, listing);
    if !rows.is_empty() {
        writeln!(out)?;
        for line in columns(header, &rows) {
            writeln!(out, "{line}")?;
        }
    }
    let notes = notes(report, listing);
    if !notes.is_empty() {
        writeln!(out)?;
        writeln!(out, "Note: {}.", notes.join("; "))?;
    }
    Ok(())
}

/// A flaky case's cells: id, pass rate, interval, decisions, where, case.
pub(super) fn flaky_cells(case: &CaseRow) -> [String; 6] {
    let Some(f) = &case.flakiness else {
        return [
            case.id.clone(),
            "-".into(),
            "-".into(),
            "-".into(),
            "-".into(),
            printable(&case_text(case)).into_owned(),
        ];
    };
    [
        case.id.clone(),
        format!("{:.1}%", 100.0 * f.pass_rate),
        format!("{:.1}–{:.1}%", 100.0 * f.ci[0], 100.0 * f.ci[1]),
        f.decisions.to_string(),
        printable(&format!("{}, {}", f.model, f.side)).into_owned(),
        printable(&case_text(case)).into_owned(),
    ]
}

/// A case's cells: verdict, id, before, after, change, p, q, case.
pub(super) fn cells(case: &CaseRow) -> [String; 8] {
    [
        verdict_text(case.verdict).to_owned(),
        case.id.clone(),
        side_text(case.before),
        side_text(case.after),
        case.change
            .map_or_else(|| "-".to_owned(), |c| format!("{:+.1} pts", 100.0 * c)),
        p_cell(case.p),
        p_cell(case.q),
        printable(&case_text(case)).into_owned(),
    ]
}

/// The verdict in words.
pub(super) fn verdict_text(verdict: CaseVerdict) -> &'static str {
    match verdict {
        CaseVerdict::Regressed => "regressed",
        CaseVerdict::NewlyFailing => "newly failing",
        CaseVerdict::Flaky => "flaky",
        CaseVerdict::Stable => "stable",
        CaseVerdict::Untested => "untested",
    }
}

/// "48/50 (96.0%)", or "-" without decisions.
pub(super) fn side_text(side: Side) -> String {
    match side.rate() {
        Some(rate) => format!("{}/{} ({:.1}%)", side.passes, side.decisions, 100.0 * rate),
        None => "-".to_owned(),
    }
}

/// The case, shortened to one line: `mode: input` or the config value
/// (not yet made printable).
pub(super) fn case_text(case: &CaseRow) -> String {
    let text = short_text(&case.case, CASE_WIDTH);
    match &case.mode {
        Some(mode) => format!("{mode}: {text}"),
        None => text,
    }
}

/// "Cases by input: 60 cases in 3000 runs of 3000 traces; split at run
/// 2000 (<key>, <time>), the total's step". Store text in it (the run
/// key) is made printable.
pub(super) fn headline(report: &CaseReport) -> String {
    let runs = match &report.group_by {
        GroupBy::Trace => count(report.runs, "run"),
        by => format!("{} (one per {by})", count(report.runs, "run")),
    };
    let split = match &report.split {
        Some(split) => format!(
            "split at run {} ({}, {}), {}",
            split.run_index,
            printable(&split.run_key),
            split.started_at.strftime("%Y-%m-%d %H:%M:%S UTC"),
            split.rule.as_str()
        ),
        None => "no split: the window has fewer than 2 runs".to_owned(),
    };
    // One evaluation's pass rate, when asked (`--evaluation`).
    let judged = match &report.evaluation {
        Some(name) => format!(" on evaluation {:?}", printable(name)),
        None => String::new(),
    };
    format!(
        "Cases by {}{judged}: {} in {runs} of {}; {split}",
        report.case_by,
        count(report.cases.len(), "case"),
        count(report.traces, "trace"),
    )
}

/// "2 regressed, 1 newly failing, 55 stable, 2 untested (FDR 0.05,
/// min-drop 5.0 points)": every verdict that some case has.
pub(super) fn tally(report: &CaseReport) -> String {
    let parts: Vec<String> = CaseVerdict::ALL
        .iter()
        .filter(|&&v| report.counts.of(v) > 0 || v == CaseVerdict::Regressed)
        .map(|&v| format!("{} {}", report.counts.of(v), verdict_text(v)))
        .collect();
    format!(
        "{} (FDR {}, min-drop {}); {} tested",
        parts.join(", "),
        report.fdr,
        points(report.min_drop),
        count(report.tested, "case")
    )
}

/// What the report left out, one phrase each.
pub(super) fn notes(report: &CaseReport, listing: CaseListing) -> Vec<String> {
    let mut notes = Vec::new();
    if report.tested == 0 && !report.cases.is_empty() && report.split.is_some() {
        notes.push(
            "no case has decisions on both sides of the split: a case is an input asked \
             again and again (an eval suite), or a case id named by --case-by config.<key>"
                .to_owned(),
        );
    }
    let unlisted = report.cases.len() - listed(&report.cases, listing).count();
    if listing != CaseListing::All && unlisted > 0 {
        notes.push(format!(
            "{} not listed (--all lists them{})",
            count(unlisted, "other case"),
            if listing == CaseListing::News && report.counts.flaky > 0 {
                ", --flaky the flaky ones"
            } else {
                ""
            }
        ));
    }
    if report.counts.flaky > 0 {
        notes.push(format!(
            "flaky cases hold {:.1}% of the decisions",
            100.0 * report.flaky_share
        ));
    }
    notes.extend(super::left_out_notes(
        &report.left_out,
        Some(&report.case_by),
        &report.group_by,
    ));
    notes
}
