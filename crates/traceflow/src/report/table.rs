//! The proposal's terminal table: header lines, then one row per run.

use std::io;

use comfy_table::{presets, CellAlignment, ContentArrangement, Table};

use super::Exporter;
use crate::trend::{DecisionSource, Direction, TraceTrendReport, Window};

pub(super) struct TableExporter;

/// Characters of a trace id shown before the ellipsis.
const SHORT_ID: usize = 8;

/// Skipped rows listed before the rest are only counted.
const LISTED_ISSUES: usize = 5;

impl Exporter for TableExporter {
    fn write(&self, report: &TraceTrendReport, out: &mut dyn io::Write) -> io::Result<()> {
        write_header(out, report)?;
        writeln!(out)?;
        for line in runs_table(report).lines() {
            writeln!(out, "{}", line.trim_end())?;
        }
        write_footer(out, report)
    }
}

fn write_header(out: &mut dyn io::Write, report: &TraceTrendReport) -> io::Result<()> {
    match report.requested_window {
        Window::Last(_) => writeln!(out, "TraceTrend (last {} runs)", report.window)?,
        Window::All => writeln!(out, "TraceTrend (all {} runs)", report.window)?,
    }
    let marker = match report.pass_rate_direction {
        Direction::Worsening => " ⚠️ WORSENING",
        Direction::Improving | Direction::Stable => "",
    };
    writeln!(
        out,
        "Pass rate slope: {:.4}/run{marker}",
        report.pass_rate_slope
    )?;
    writeln!(out, "Direction: {}", report.pass_rate_direction.as_str())?;
    writeln!(
        out,
        "Regression detected: {}",
        if report.any_regression { "yes" } else { "no" }
    )?;
    writeln!(
        out,
        "Method: {} (direction called beyond ±{}/run)",
        report.method.as_str(),
        report.threshold
    )?;
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
            plural(report.left_out_running, "trace")
        )?;
    }
    Ok(())
}

fn runs_table(report: &TraceTrendReport) -> Table {
    let mut table = Table::new();
    table
        .load_style(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(vec![
            "Run",
            "trace_id",
            "created_at (UTC)",
            "pass_rate",
            "decisions",
            "avg_score",
            "direction",
        ]);
    let mut previous: Option<f64> = None;
    for run in &report.summaries {
        let arrow = match previous {
            None => "-",
            Some(p) if run.pass_rate > p => "↑",
            Some(p) if run.pass_rate < p => "↓",
            Some(_) => "=",
        };
        previous = Some(run.pass_rate);
        let decisions = match run.source {
            DecisionSource::Status => format!("({})", run.status),
            _ => run.decisions.to_string(),
        };
        table.add_row(vec![
            run.run_index.to_string(),
            short_id(&run.trace_id),
            run.created_at.strftime("%Y-%m-%d %H:%M:%S").to_string(),
            format!("{:.2}", run.pass_rate),
            decisions,
            run.avg_score
                .map_or_else(|| "-".to_owned(), |s| format!("{s:.2}")),
            arrow.to_owned(),
        ]);
    }
    for column in [0, 3, 4, 5] {
        if let Some(c) = table.column_mut(column) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    table
}

fn write_footer(out: &mut dyn io::Write, report: &TraceTrendReport) -> io::Result<()> {
    let issues = &report.skipped_rows;
    if issues.is_empty() {
        return Ok(());
    }
    writeln!(out, "\nSkipped {}:", plural(issues.len(), "unreadable row"))?;
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

fn short_id(id: &str) -> String {
    match id.char_indices().nth(SHORT_ID) {
        Some((end, _)) => format!("{}...", &id[..end]),
        None => id.to_owned(),
    }
}

fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
