//! The proposal's terminal table: header lines, then one row per run.

use std::io::{self, Write as _};

use super::{Document, Exporter, RunListing};
use crate::model::RunStatus;
use crate::text::{count, points, signed_points};
use crate::trend::{
    DecisionSource, Direction, Method, Statistics, TraceRunSummary, TraceTrendReport, Verdict,
    Window,
};

pub(super) struct TableExporter;

/// Characters of a trace id shown before the ellipsis.
const SHORT_ID: usize = 8;

/// Skipped rows listed before the rest are only counted.
const LISTED_ISSUES: usize = 5;

impl Exporter for TableExporter {
    fn write(&self, doc: Document<'_>, out: &mut dyn io::Write) -> io::Result<()> {
        match doc {
            Document::Trace { report, runs } => {
                write_header(out, report)?;
                writeln!(out)?;
                write_runs(out, report, runs)?;
                write_footer(out, report)
            }
            Document::Suite(suite) => super::suite_table::write(out, suite),
            Document::Cases { report, listing } => super::case_table::write(out, report, listing),
            Document::Compare { report, listing } => {
                super::compare_table::write(out, report, listing)
            }
        }
    }
}

pub(super) fn write_header(out: &mut dyn io::Write, report: &TraceTrendReport) -> io::Result<()> {
    let stats = &report.statistics;
    match report.requested_window {
        Window::Last(_) => writeln!(out, "TraceTrend (last {} runs)", report.window)?,
        Window::All => writeln!(out, "TraceTrend (all {} runs)", report.window)?,
    }
    writeln!(
        out,
        "Verdict: {}{}",
        stats.verdict.as_str(),
        verdict_marker(stats.verdict)
    )?;
    writeln!(out, "{}", stats.summary)?;
    writeln!(out)?;
    let marker = match report.pass_rate_direction {
        Direction::Worsening => " ⚠️ WORSENING",
        Direction::Improving | Direction::Stable | Direction::InsufficientData => "",
    };
    let slope = report.pass_rate_slope;
    if slope != 0.0 && slope.abs() < 0.00005 {
        writeln!(out, "Pass rate slope: {slope:.2e}/run{marker}")?;
    } else {
        writeln!(out, "Pass rate slope: {slope:.4}/run{marker}")?;
    }
    let rates: Vec<Option<f64>> = report.summaries.iter().map(|s| Some(s.pass_rate)).collect();
    if !rates.is_empty() {
        writeln!(
            out,
            "Pass rate per run: {} (oldest to newest)",
            super::sparkline(&rates, super::SPARK_WIDTH)
        )?;
    }
    writeln!(out, "Direction: {}", report.pass_rate_direction.as_str())?;
    writeln!(
        out,
        "Regression detected: {}",
        if report.any_regression { "yes" } else { "no" }
    )?;
    match report.method {
        Method::Ols => writeln!(
            out,
            "Method: ols (direction called beyond ±{}/run; no significance test)",
            report.threshold
        )?,
        Method::Auto if stats.evaluations > 1 => writeln!(
            out,
            "Method: auto (Cochran–Armitage trend test, false alarms ≤ {} over {} evaluations: level {:.5} each, min drop {})",
            stats.alpha,
            stats.evaluations,
            stats.level,
            points(stats.min_drop)
        )?,
        Method::Auto => writeln!(
            out,
            "Method: auto (Cochran–Armitage trend test, one-sided α = {}, min drop {})",
            stats.alpha,
            points(stats.min_drop)
        )?,
    }
    write_statistics(out, stats)?;
    let sources: Vec<String> = report
        .source_counts()
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(source, n)| format!("{} {n}", source_label(*source)))
        .collect();
    writeln!(out, "Decisions from: {}", sources.join(", "))?;
    if report.left_out_running > 0 {
        writeln!(
            out,
            "Left out: {} still running (no outcome yet)",
            count(report.left_out_running, "trace")
        )?;
    }
    if let Some(stale) = report.stale.filter(|s| s.failed > 0) {
        writeln!(out, "Counted as failed: {}", super::stale_note(stale))?;
    }
    Ok(())
}

/// The warning sign after a regression's verdict.
fn verdict_marker(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Regression => " ⚠️",
        Verdict::Improvement
        | Verdict::Stable
        | Verdict::InsufficientData
        | Verdict::NotSignificant => "",
    }
}

/// The tests behind the verdict, one line each; an undefined one is "n/a".
fn write_statistics(out: &mut dyn io::Write, stats: &Statistics) -> io::Result<()> {
    match stats.evidence.cochran_armitage() {
        Some(ca) => {
            let dispersion = match ca.df {
                Some(df) => format!("overdispersed: φ = {:.2}, t with {df:.1} df", ca.dispersion),
                None => "binomial".to_owned(),
            };
            writeln!(
                out,
                "Trend test: Cochran–Armitage z = {:.2}, p(decline) {} ({dispersion})",
                ca.z,
                p_value(ca.p_decline),
            )?;
            writeln!(
                out,
                "Predicted change across the window: {} (95% CI {:+.1} to {:+.1})",
                signed_points(ca.predicted_change),
                100.0 * ca.predicted_change_ci[0],
                100.0 * ca.predicted_change_ci[1]
            )?;
        }
        None => writeln!(
            out,
            "Trend test: n/a (needs decisions with both outcomes on 2+ runs)"
        )?,
    }
    match stats.evidence.change_point() {
        Some(c) => writeln!(
            out,
            "Step: run {} (trace {}, {}): {:.1}% → {:.1}% ({}, 95% CI {:+.1} to {:+.1}), p {}",
            c.run_index,
            {
                let (id, ellipsis) = short_id(&c.trace_id);
                format!("{id}{ellipsis}")
            },
            c.created_at
                .map_or_else(String::new, |t| t.strftime("%Y-%m-%d %H:%M:%S").to_string()),
            100.0 * c.before.rate,
            100.0 * c.after.rate,
            signed_points(c.change),
            100.0 * c.change_ci[0],
            100.0 * c.change_ci[1],
            p_value(c.p_value)
        )?,
        None => writeln!(out, "Step: none significant")?,
    }
    if stats.evidence.change_points().len() > 1 {
        let at: Vec<String> = stats
            .evidence
            .change_points()
            .iter()
            .map(|c| {
                format!(
                    "run {} ({:.1}% → {:.1}%)",
                    c.run_index,
                    100.0 * c.before.rate,
                    100.0 * c.after.rate
                )
            })
            .collect();
        writeln!(out, "Steps by segmentation: {}", at.join(", "))?;
    }
    match stats.min_detectable_drop {
        Some(m) if m >= 1.0 => writeln!(
            out,
            "Minimum detectable drop: none detectable (not even 100 points, at 80% power and level {})",
            stats.level
        )?,
        Some(m) => writeln!(
            out,
            "Minimum detectable drop: {} (80% power at level {})",
            points(m),
            stats.level
        )?,
        None => writeln!(out, "Minimum detectable drop: n/a")?,
    }
    if let Some(mk) = stats.evidence.mann_kendall() {
        writeln!(
            out,
            "Second opinion: Mann–Kendall S = {}, p(decline) {}, Sen's slope {:.4}/run",
            mk.s,
            p_value(mk.p_decline),
            mk.sen_slope
        )?;
    }
    for note in &stats.notes {
        writeln!(out, "Note: {note}")?;
    }
    Ok(())
}

/// "= 0.0123", or "< 0.0001".
fn p_value(p: f64) -> String {
    if p < 1e-4 {
        "< 0.0001".to_owned()
    } else {
        format!("= {p:.4}")
    }
}

/// The runs `listing` picks, one line each, in aligned columns, and then,
/// when runs were left out, how many and the verdict again: it is what a
/// terminal shows last. Streamed: a full-history report may hold a million
/// runs.
fn write_runs(
    out: &mut dyn io::Write,
    report: &TraceTrendReport,
    listing: RunListing,
) -> io::Result<()> {
    const HEADER: [&str; 7] = [
        "Run",
        "trace_id",
        "created_at (UTC)",
        "pass_rate",
        "decisions",
        "avg_score",
        "direction",
    ];
    let runs = &report.summaries;
    let first = match listing {
        RunListing::All => 0,
        RunListing::Newest(n) => runs.len().saturating_sub(n),
    };
    let mut width = HEADER.map(str::len);
    width[0] = width[0].max(
        runs.len()
            .saturating_sub(1)
            .checked_ilog10()
            .map_or(1, |d| d as usize + 1),
    );
    width[1] = width[1].max(
        runs.iter()
            .map(|r| r.trace_id.chars().count().min(SHORT_ID + 3))
            .max()
            .unwrap_or(0),
    );
    width[2] = width[2].max("2026-01-01 00:00:00".len());
    width[4] = width[4].max(runs.iter().map(decisions_width).max().unwrap_or(0));
    let [w0, w1, w2, w3, w4, w5, _] = width;
    writeln!(
        out,
        " {:>w0$}  {:<w1$}  {:<w2$}  {:>w3$}  {:>w4$}  {:>w5$}  {}",
        HEADER[0], HEADER[1], HEADER[2], HEADER[3], HEADER[4], HEADER[5], HEADER[6]
    )?;
    super::write_chunked(out, runs, &|runs, range, buffer| {
        for i in range.filter(|&i| i >= first) {
            // Writing into a Vec cannot fail.
            let _ = write_run(buffer, runs, i, width);
        }
    })?;
    if first > 0 {
        writeln!(
            out,
            "Showing the newest {} of {} (--runs all lists every run). Verdict: {}{}",
            runs.len() - first,
            count(runs.len(), "run"),
            report.statistics.verdict.as_str(),
            verdict_marker(report.statistics.verdict)
        )?;
    }
    Ok(())
}

fn write_run(
    out: &mut Vec<u8>,
    runs: &[TraceRunSummary],
    i: usize,
    [w0, w1, _, w3, w4, w5, _]: [usize; 7],
) -> io::Result<()> {
    let run = &runs[i];
    let arrow = match i.checked_sub(1).map(|p| runs[p].pass_rate) {
        None => "-",
        Some(p) if run.pass_rate > p => "↑",
        Some(p) if run.pass_rate < p => "↓",
        Some(_) => "=",
    };
    let (id, ellipsis) = short_id(&run.trace_id);
    let id_pad = w1.saturating_sub(id.chars().count() + ellipsis.len());
    write!(
        out,
        " {:>w0$}  {id}{ellipsis}{:id_pad$}  {}  {:>w3$.2}  ",
        run.run_index,
        "",
        run.created_at.strftime("%Y-%m-%d %H:%M:%S"),
        run.pass_rate,
    )?;
    match run.source {
        DecisionSource::Status => write!(out, "{:>w4$}", status_cell(run.status))?,
        _ => write!(out, "{:>w4$}", run.decisions)?,
    }
    match run.avg_score {
        Some(score) => write!(out, "  {score:>w5$.2}")?,
        None => write!(out, "  {:>w5$}", "-")?,
    }
    writeln!(out, "  {arrow}")
}

/// The decisions cell of a run that had none: its status instead.
fn status_cell(status: RunStatus) -> &'static str {
    match status {
        RunStatus::Done => "(done)",
        RunStatus::Failed => "(failed)",
        RunStatus::Running => "(running)",
    }
}

fn decisions_width(run: &TraceRunSummary) -> usize {
    match run.source {
        DecisionSource::Status => status_cell(run.status).len(),
        _ => run.decisions.checked_ilog10().map_or(1, |d| d as usize + 1),
    }
}

fn write_footer(out: &mut dyn io::Write, report: &TraceTrendReport) -> io::Result<()> {
    let issues = &report.skipped_rows;
    if issues.is_empty() {
        return Ok(());
    }
    writeln!(out, "\nSkipped {}:", count(issues.len(), "unreadable row"))?;
    for issue in issues.iter().take(LISTED_ISSUES) {
        writeln!(out, "  {issue}")?;
    }
    if issues.len() > LISTED_ISSUES {
        writeln!(
            out,
            "  … and {} more (all are listed in --format json)",
            issues.len() - LISTED_ISSUES
        )?;
    }
    Ok(())
}

fn source_label(source: DecisionSource) -> &'static str {
    match source {
        DecisionSource::TraceEvals => "trace_evals",
        DecisionSource::EvaluatorSteps => "evaluator steps",
        DecisionSource::Status => "run status (no decisions recorded)",
    }
}

/// The first characters of an id, and an ellipsis if that is not all.
fn short_id(id: &str) -> (&str, &'static str) {
    match id.char_indices().nth(SHORT_ID) {
        Some((end, _)) => (&id[..end], "..."),
        None => (id, ""),
    }
}
