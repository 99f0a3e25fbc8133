//! The terminal table of a suite: one line per metric × segment with its
//! verdict and a sparkline, then the sentence of every report that is not
//! stable.

use std::io;

use super::{change_text, p_cell, printable, segment_label, sparkline, SPARK_WIDTH};
use crate::text::count;
use crate::trend::{SuiteReport, Verdict};

pub(super) fn write(out: &mut dyn io::Write, suite: &SuiteReport) -> io::Result<()> {
    writeln!(out, "{}", headline(suite))?;
    let regressions = suite.count(Verdict::Regression);
    writeln!(
        out,
        "Regression detected: {}",
        if suite.any_regression {
            format!("yes ({regressions} of {})", suite.reports.len())
        } else {
            "no".to_owned()
        }
    )?;
    writeln!(out)?;

    let header = [
        "Metric", "Segment", "Runs", "Value", "Change", "p(worse)", "Holm p", "Verdict", "Per run",
    ];
    let rows: Vec<[String; 9]> = suite
        .reports
        .iter()
        .map(|r| {
            let s = &r.statistics;
            let values: Vec<Option<f64>> = r.summaries.iter().map(|run| run.value).collect();
            [
                r.metric.to_string(),
                printable(&segment_label(r.segment.as_deref())).into_owned(),
                s.runs.to_string(),
                r.value
                    .map_or_else(|| "-".to_owned(), |v| r.metric.format_value(v)),
                change_text(r),
                p_cell(s.p_worse),
                p_cell(r.p_adjusted),
                s.verdict.as_str().to_owned(),
                sparkline(&values, SPARK_WIDTH),
            ]
        })
        .collect();
    let rows: Vec<Vec<String>> = rows.into_iter().map(|r| r.to_vec()).collect();
    for line in super::columns(&header, &rows) {
        writeln!(out, "{line}")?;
    }

    let notable: Vec<_> = suite
        .reports
        .iter()
        .filter(|r| super::worth_a_sentence(r))
        .collect();
    if !notable.is_empty() {
        writeln!(out)?;
        for r in notable {
            writeln!(
                out,
                "{} ({}): {}",
                r.metric,
                printable(super::segment_name(r.segment.as_deref())),
                printable(&r.statistics.summary)
            )?;
        }
    }
    let notes = super::left_out(suite);
    if !notes.is_empty() {
        writeln!(out)?;
        writeln!(out, "Note: {}.", notes.join("; "))?;
    }
    Ok(())
}

/// "3 metrics × 3 segments over 14 runs (one per day), auto at α = 0.01,
/// Holm across 9 tests".
pub(super) fn headline(suite: &SuiteReport) -> String {
    let metrics = {
        let mut names: Vec<String> = suite.reports.iter().map(|r| r.metric.to_string()).collect();
        names.dedup();
        names.len()
    };
    let segments = suite.reports.len() / metrics.max(1);
    let runs = match suite.group_by {
        crate::trend::GroupBy::Trace => count(suite.runs, "run"),
        ref by => format!("{} (one per {by})", count(suite.runs, "run")),
    };
    let scope = if segments > 1 {
        format!(
            "{} × {} (total and by {})",
            count(metrics, "metric"),
            count(segments, "segment"),
            suite
                .segment_by
                .as_ref()
                .map_or_else(String::new, ToString::to_string)
        )
    } else {
        count(metrics, "metric")
    };
    format!(
        "Trend of {scope} over {runs} of {}, {} at α = {}{}",
        count(suite.traces, "trace"),
        suite.method.as_str(),
        suite.alpha,
        if suite.tests > 1 {
            format!(", Holm across {} tests", suite.tests)
        } else {
            String::new()
        }
    )
}
