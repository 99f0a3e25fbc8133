//! A comparison as rows of text: the terminal table, and the lines and
//! cells the Markdown, JUnit and HTML reports share.
//!
//! ```text
//! Candidate config.branch=pr (60 traces in 60 runs) against baseline config.branch=main (60 traces in 60 runs)
//! Verdict: regression
//! The candidate passes less often than the baseline: -16.7 points (95% CI …; paired through the 6 cases both asked; p(worse) = 0.0002).
//!
//! Metric         Baseline  Candidate  Difference
//! pass-rate      100.0%    83.3%      -16.7 pts
//! ```

use std::io;

use super::case_table;
use super::{columns, printable, CaseListing};
use crate::compare::{Arm, CompareReport};
use crate::text::count;
use crate::trend::{Metric, MetricKind};

/// "Candidate … against baseline …": what was compared (store text in
/// the selectors made printable).
pub(super) fn headline(report: &CompareReport) -> String {
    let arm = |arm: &Arm, described: &str| {
        format!(
            "{} ({} in {})",
            printable(described),
            count(arm.traces, "trace"),
            count(arm.runs, "run")
        )
    };
    let (candidate, baseline) = report.sides_described();
    format!(
        "Candidate {} against baseline {}",
        arm(&report.candidate, candidate),
        arm(&report.baseline, baseline)
    )
}

/// The metrics' rows: metric, baseline, candidate, difference.
pub(super) fn metric_rows(report: &CompareReport) -> Vec<[String; 4]> {
    let value = |metric: &Metric, v: Option<f64>| {
        v.map_or_else(|| "-".to_owned(), |v| metric.format_value(v))
    };
    let difference = |metric: &Metric, d: Option<f64>| match (metric.kind(), d) {
        (_, None) => "-".to_owned(),
        (MetricKind::Rate, Some(d)) => format!("{:+.1} pts", 100.0 * d),
        (MetricKind::Mean, Some(d)) => {
            let text = metric.format_value(d.abs());
            if d < 0.0 {
                format!("-{text}")
            } else {
                format!("+{text}")
            }
        }
    };
    let pass = Metric::PassRate;
    let mut rows = vec![[
        pass.to_string(),
        value(&pass, report.baseline.rate),
        value(&pass, report.candidate.rate),
        difference(&pass, Some(report.difference.estimate)),
    ]];
    for m in &report.metrics {
        rows.push([
            m.metric.to_string(),
            value(&m.metric, m.baseline),
            value(&m.metric, m.candidate),
            difference(&m.metric, m.difference),
        ]);
    }
    rows
}

/// The header of [`metric_rows`].
pub(super) const METRIC_HEADER: [&str; 4] = ["Metric", "Baseline", "Candidate", "Difference"];

/// "Cases (baseline → candidate): 1 regressed, 5 stable (FDR 0.05)".
pub(super) fn case_tally(report: &CompareReport) -> String {
    let parts: Vec<String> = crate::cases::CaseVerdict::ALL
        .iter()
        .filter(|&&v| report.counts.of(v) > 0)
        .map(|&v| format!("{} {}", report.counts.of(v), case_table::verdict_text(v)))
        .collect();
    format!(
        "Cases by {} (baseline before, candidate after): {} (FDR {})",
        report.case_by,
        if parts.is_empty() {
            "none".to_owned()
        } else {
            parts.join(", ")
        },
        report.fdr
    )
}

pub(super) fn write(
    out: &mut dyn io::Write,
    report: &CompareReport,
    listing: CaseListing,
) -> io::Result<()> {
    writeln!(out, "{}", headline(report))?;
    writeln!(out, "Verdict: {}", report.verdict.as_str())?;
    writeln!(out, "{}", printable(&report.summary))?;
    writeln!(out)?;
    let metrics: Vec<Vec<String>> = metric_rows(report)
        .into_iter()
        .map(|r| r.to_vec())
        .collect();
    for line in columns(&METRIC_HEADER, &metrics) {
        writeln!(out, "{line}")?;
    }
    writeln!(out)?;
    writeln!(out, "{}", case_tally(report))?;
    let (header, rows) = case_table::rows(&report.cases, listing);
    if !rows.is_empty() {
        writeln!(out)?;
        for line in columns(header, &rows) {
            writeln!(out, "{line}")?;
        }
    }
    let notes = notes(report, listing, rows.len());
    if !notes.is_empty() {
        writeln!(out)?;
        writeln!(out, "Note: {}.", notes.join("; "))?;
    }
    Ok(())
}

/// What the comparison left out, one phrase each.
pub(super) fn notes(report: &CompareReport, listing: CaseListing, listed: usize) -> Vec<String> {
    let mut notes = Vec::new();
    let unlisted = report.cases.len() - listed;
    if listing != CaseListing::All && unlisted > 0 {
        notes.push(format!(
            "{} not listed (--all lists them)",
            count(unlisted, "other case")
        ));
    }
    notes.extend(super::left_out_notes(
        &report.left_out,
        Some(&report.case_by),
        &report.group_by,
    ));
    notes
}
