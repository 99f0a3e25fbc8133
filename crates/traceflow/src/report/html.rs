//! The HTML report: one self-contained page (inline CSS and SVG, no
//! script, nothing fetched) with the verdicts at the top, then a section
//! per metric × segment with its chart, its sentence and its last runs.
//!
//! How store text stays text:
//!
//! - every string that came from a store (segment values, run keys, the
//!   sentences that quote them, skipped rows' reasons) reaches the page
//!   through a maud splice, which escapes `&`, `<`, `>` and `"` once;
//! - the charts, drawn by plotters' SVG backend and inserted as they are
//!   (`PreEscaped`), hold numbers only: axis labels are run indices and
//!   `Metric::format_value`s. Titles, legends and run keys are HTML around
//!   the SVG. (plotters escapes the text it draws, so text put there later
//!   would still be escaped once, not twice);
//! - characters XML 1.0 forbids (C0 controls other than tab and line
//!   breaks, U+FFFE, U+FFFF) are replaced by U+FFFD on the way out, so the
//!   page is well-formed XML whatever a store holds;
//! - a Content-Security-Policy `<meta>` forbids scripts and fetches, in
//!   case a browser ever disagrees with the above.
//!
//! The page is written a section at a time, so a report of a thousand
//! segments is never held whole; a long series is thinned for its chart
//! and its table lists the last [`TABLE_RUNS`] runs.

use std::io;

use maud::{html, Markup, PreEscaped};
use plotters::coord::types;
use plotters::prelude::*;

use super::suite_table::headline;
use super::{
    case_table, change_text, compare_table, p_cell, segment_label, sparkline, CaseListing,
    SuiteExporter, SPARK_WIDTH,
};
use crate::cases::{CaseReport, CaseVerdict};
use crate::compare::CompareReport;
use crate::text::count;
use crate::trend::{ChangeKind, GroupBy, MetricKind, MetricReport, RunValue, SuiteReport, Verdict};

/// Writes a suite as one HTML page.
pub(super) struct HtmlExporter;

/// Runs listed in a report's table at the most (the newest ones): the
/// chart shows the whole series and `--format json` lists every run.
const TABLE_RUNS: usize = 50;
/// Size of a chart in pixels.
const CHART_SIZE: (u32, u32) = (960, 280);

/// The chart's y-label area and margins, in pixels: what of its width the
/// x axis does not have.
const CHART_X_INSET: u32 = 64 + 2 * 10;
/// Points a chart's line draws at the most: a longer series is drawn as
/// the lowest and highest value of each of `CHART_POINTS / 2` stretches,
/// which keeps its outline at a fraction of the size.
const CHART_POINTS: usize = 600;
/// Runs up to which each value is marked with a dot.
const MARKED_RUNS: usize = 120;
/// Skipped rows listed at the most.
const LISTED_ISSUES: usize = 20;

/// Per-run values.
const VALUE_COLOR: RGBColor = RGBColor(37, 99, 235);
/// The fitted trend and its band.
const TREND_COLOR: RGBColor = RGBColor(234, 88, 12);
/// The change point and the levels either side of it.
const CHANGE_COLOR: RGBColor = RGBColor(147, 51, 234);
/// Grid lines.
const GRID_COLOR: RGBColor = RGBColor(229, 231, 235);
/// Axes and their labels.
const AXIS_COLOR: RGBColor = RGBColor(107, 114, 128);

/// The void elements of the head, written as XML (maud writes `<meta …>`
/// without the slash, which is HTML but not XML). No store text.
const HEAD_META: &str = concat!(
    r#"<meta charset="utf-8"/>"#,
    r#"<meta name="viewport" content="width=device-width, initial-scale=1"/>"#,
    r#"<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'"/>"#,
);

/// The page's style. It holds neither `<` nor `&`, so it is valid XML
/// text as well.
const STYLE: &str = r#"
body { margin: 0; background: #f5f6f8; color: #1f2328;
  font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1080px; margin: 0 auto; padding: 24px; }
h1 { font-size: 24px; margin: 0; }
h2 { font-size: 17px; margin: 0 0 6px; display: flex; flex-wrap: wrap; gap: 8px; align-items: center; }
.banner { padding: 18px 22px; border-radius: 10px; color: #fff; margin-bottom: 16px; }
.banner p { margin: 4px 0 0; }
.banner .scope { opacity: 0.9; font-size: 13px; }
.banner.regression { background: #b91c1c; }
.banner.ok { background: #15803d; }
.banner.insufficient { background: #b45309; }
.card { background: #fff; border: 1px solid #e5e7eb; border-radius: 10px; padding: 16px 20px; margin: 16px 0; }
.card.regression { border-left: 5px solid #b91c1c; }
table { border-collapse: collapse; width: 100%; }
th, td { padding: 5px 10px; border-bottom: 1px solid #eceef1; text-align: left; vertical-align: top; }
th { font-size: 12px; color: #57606a; font-weight: 600; }
.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.regression td { background: #fef2f2; }
a { color: inherit; }
.metric { white-space: nowrap; }
.verdict { display: inline-block; padding: 1px 9px; border-radius: 999px; font-size: 12px; font-weight: 700;
  white-space: nowrap; text-transform: uppercase; letter-spacing: 0.03em; }
.verdict.regression { background: #b91c1c; color: #fff; }
.verdict.improvement { background: #15803d; color: #fff; }
.verdict.stable { background: #dcfce7; color: #166534; }
.verdict.insufficient { background: #fef3c7; color: #92400e; }
.verdict.not-significant { background: #e5e7eb; color: #374151; }
.segment { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px;
  background: #f1f3f5; padding: 0 6px; border-radius: 4px; overflow-wrap: anywhere; }
.spark { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; color: #57606a; white-space: pre; }
.summary { margin: 6px 0; }
.facts { color: #57606a; margin: 4px 0; }
.facts b { color: #1f2328; font-weight: 600; }
figure { margin: 10px 0; }
figure svg { display: block; width: 100%; height: auto; }
figcaption { color: #57606a; font-size: 12px; }
.key { display: inline-block; width: 16px; height: 0; vertical-align: middle; margin: 0 4px 0 12px; }
.key.value { width: 8px; height: 8px; border-radius: 50%; background: #2563eb; }
.key.trend { border-top: 2px solid #ea580c; }
.key.band { height: 10px; background: rgba(234, 88, 12, 0.18); }
.key.change { width: 0; height: 12px; border-left: 2px dashed #9333ea; }
.notes { color: #57606a; font-size: 13px; margin: 6px 0; padding-left: 18px; }
details { margin-top: 8px; }
summary { cursor: pointer; color: #57606a; }
.empty { color: #57606a; font-style: italic; }
footer { color: #8b949e; font-size: 12px; margin: 24px 0; }
"#;

impl SuiteExporter for HtmlExporter {
    fn write_suite(&self, suite: &SuiteReport, out: &mut dyn io::Write) -> io::Result<()> {
        write_text(out, "<!DOCTYPE html>\n<html lang=\"en\">")?;
        write_text(out, &head(suite).into_string())?;
        write_text(out, "<body><main>")?;
        write_text(out, &overview(suite).into_string())?;
        // Time buckets' keys are their dates: the x axis shows them.
        let dated = matches!(suite.group_by, GroupBy::Hour | GroupBy::Day | GroupBy::Week);
        for (i, report) in suite.reports.iter().enumerate() {
            // One report's runs at a time: a report measures them when read.
            let runs = report.summaries.to_vec();
            let change = marker(report);
            let look = Look::of(report, &runs, dated);
            let svg = chart(report, &runs, change.as_ref(), &look).map_err(io::Error::other)?;
            write_text(
                out,
                &section(i, report, &runs, change.as_ref(), &look, svg.as_deref()).into_string(),
            )?;
        }
        write_text(out, &footer().into_string())?;
        write_text(out, "</main></body></html>\n")
    }

    /// The banner with how many cases regressed, then a card with the
    /// listed cases' table and what was left out.
    fn write_cases(
        &self,
        report: &CaseReport,
        listing: CaseListing,
        out: &mut dyn io::Write,
    ) -> io::Result<()> {
        let regressed = report.counts.regressed;
        let (class, verdict) = if regressed > 0 {
            (
                "regression",
                format!("{} regressed", count(regressed, "case")),
            )
        } else if report.tested == 0 {
            ("insufficient", "No case could be compared".to_owned())
        } else {
            ("ok", "No case regressed".to_owned())
        };
        let title = format!("traceflow: {verdict}");
        let (header, rows) = case_table::rows(&report.cases, listing);
        let verdicts: Vec<CaseVerdict> = case_table::listed(&report.cases, listing)
            .map(|c| c.verdict)
            .collect();
        let notes = case_table::notes(report, listing);
        let page = html! {
            head {
                (PreEscaped(HEAD_META))
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body { main {
                header class={ "banner " (class) } {
                    h1 { (verdict) }
                    p { (case_table::tally(report)) "." }
                    p.scope { (case_table::headline(report)) }
                }
                div.card {
                    @if rows.is_empty() {
                        p.empty { "No case listed." }
                    } @else {
                        (case_rows(header, &rows, &verdicts))
                    }
                    @if !notes.is_empty() {
                        ul.notes { @for note in &notes { li { (note) "." } } }
                    }
                }
                footer {
                    "Generated by traceflow. p is Fisher's exact test, one-sided toward worse, per case; "
                    "q is Benjamini–Hochberg's across the tested cases."
                }
            } }
        };
        write_text(out, "<!DOCTYPE html>\n<html lang=\"en\">")?;
        write_text(out, &page.into_string())?;
        write_text(out, "</html>\n")
    }

    /// The banner with the verdict, the metrics' table, then the listed
    /// cases.
    fn write_compare(
        &self,
        report: &CompareReport,
        listing: CaseListing,
        out: &mut dyn io::Write,
    ) -> io::Result<()> {
        use crate::compare::CompareVerdict;
        let (class, verdict) = match report.verdict {
            CompareVerdict::Regression => {
                ("regression", "Regression: the candidate passes less often")
            }
            CompareVerdict::Improvement => ("ok", "Improvement: the candidate passes more often"),
            CompareVerdict::Stable => ("ok", "No regression"),
            CompareVerdict::InsufficientData => ("insufficient", "Too little data to judge"),
        };
        let (header, rows) = case_table::rows(&report.cases, listing);
        let verdicts: Vec<CaseVerdict> = case_table::listed(&report.cases, listing)
            .map(|c| c.verdict)
            .collect();
        let notes = compare_table::notes(report, listing, rows.len());
        let page = html! {
            head {
                (PreEscaped(HEAD_META))
                title { "traceflow: " (verdict) }
                style { (PreEscaped(STYLE)) }
            }
            body { main {
                header class={ "banner " (class) } {
                    h1 { (verdict) }
                    p { (report.summary) }
                    p.scope { (compare_table::headline(report)) }
                }
                div.card {
                    table {
                        thead { tr { @for h in compare_table::METRIC_HEADER {
                            th class=[(h != "Metric").then_some("num")] { (h) }
                        } } }
                        tbody { @for row in compare_table::metric_rows(report) {
                            tr { @for (k, cell) in row.iter().enumerate() {
                                td class=[(k > 0).then_some("num")] { (cell) }
                            } }
                        } }
                    }
                }
                div.card {
                    p { (compare_table::case_tally(report)) "." }
                    @if !rows.is_empty() {
                        (case_rows(header, &rows, &verdicts))
                    }
                    @if !notes.is_empty() {
                        ul.notes { @for note in &notes { li { (note) "." } } }
                    }
                }
                footer {
                    "Generated by traceflow. Paired: Mantel–Haenszel's difference over the cases both sides asked (Sato's interval) and "
                    "the Cochran–Mantel–Haenszel test; unpaired: Newcombe's interval and Fisher's exact test."
                }
            } }
        };
        write_text(out, "<!DOCTYPE html>\n<html lang=\"en\">")?;
        write_text(out, &page.into_string())?;
        write_text(out, "</html>\n")
    }
}

/// The listed cases' table: a row per case, its verdict as a badge.
fn case_rows(header: &[&str], rows: &[Vec<String>], verdicts: &[CaseVerdict]) -> Markup {
    html! {
        table {
            thead { tr { @for h in header {
                th class=[case_table::numeric(h).then_some("num")] { (h) }
            } } }
            tbody { @for (v, cells) in verdicts.iter().zip(rows) {
                tr class=[(*v == CaseVerdict::Regressed).then_some("regression")] {
                    @for (h, cell) in header.iter().zip(cells) {
                        @if *h == "Verdict" {
                            td { span class={ "verdict " (case_class(*v)) } { (cell) } }
                        } @else if *h == "Id" {
                            td style="white-space: nowrap" { span.segment { (cell) } }
                        } @else {
                            td class=[case_table::numeric(h).then_some("num")] { (cell) }
                        }
                    }
                }
            } }
        }
    }
}

/// The CSS class of a case's verdict.
fn case_class(verdict: CaseVerdict) -> &'static str {
    match verdict {
        CaseVerdict::Regressed => "regression",
        CaseVerdict::NewlyFailing => "insufficient",
        CaseVerdict::Flaky => "not-significant",
        CaseVerdict::Stable => "stable",
        CaseVerdict::Untested => "not-significant",
    }
}

/// Writes page text, replacing the characters XML 1.0 does not allow and
/// those that would reorder or hide what a reader sees (the terminal's
/// unsafe characters: C1 controls, DEL, carriage returns, bidirectional
/// overrides), as the table does. The page's own layout uses line feeds
/// and spaces only.
fn write_text(out: &mut dyn io::Write, text: &str) -> io::Result<()> {
    // XML 1.0's Char: tab, line feed, carriage return, and U+0020 up,
    // except U+FFFE and U+FFFF (a Rust string holds no surrogates).
    let forbidden = |c: char| match c {
        '\t' | '\n' => false,
        '\u{fffe}' | '\u{ffff}' => true,
        c => super::terminal::is_unsafe(c),
    };
    if text.contains(forbidden) {
        out.write_all(text.replace(forbidden, "\u{fffd}").as_bytes())
    } else {
        out.write_all(text.as_bytes())
    }
}

/// The CSS class of a verdict.
fn verdict_class(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Regression => "regression",
        Verdict::Improvement => "improvement",
        Verdict::Stable => "stable",
        Verdict::InsufficientData => "insufficient",
        Verdict::NotSignificant => "not-significant",
    }
}

/// A report's value for people, "-" without one.
fn value_text(report: &MetricReport, value: Option<f64>) -> String {
    value
        .filter(|v| v.is_finite())
        .map_or_else(|| "-".to_owned(), |v| report.metric.format_value(v))
}

/// The page's head: title and style.
fn head(suite: &SuiteReport) -> Markup {
    let title = if suite.any_regression {
        "traceflow: regression detected"
    } else {
        "traceflow: trend report"
    };
    html! {
        head {
            (PreEscaped(HEAD_META))
            title { (title) }
            style { (PreEscaped(STYLE)) }
        }
    }
}

/// The banner with the overall verdict, the table of every report's
/// verdict, and what was left out.
fn overview(suite: &SuiteReport) -> Markup {
    let (class, verdict, detail) = overall(suite);
    html! {
        header class={ "banner " (class) } {
            h1 { (verdict) }
            p { (detail) }
            p.scope { (headline(suite)) }
        }
        div.card {
            (verdict_table(suite))
            (left_out_list(suite))
        }
    }
}

/// The suite's verdict in words: the banner's CSS class, its title and a
/// sentence of how many reports regressed or were judged.
fn overall(suite: &SuiteReport) -> (&'static str, &'static str, String) {
    let total = suite.reports.len();
    let regressions = suite.count(Verdict::Regression);
    let insufficient = suite.count(Verdict::InsufficientData);
    if suite.any_regression {
        (
            "regression",
            "Regression detected",
            format!(
                "{regressions} of {} regressed, after Holm's correction across them.",
                count(total, "report")
            ),
        )
    } else if insufficient == total {
        (
            "insufficient",
            "Too little data to judge",
            format!(
                "None of the {} has enough data to tell a change from noise.",
                count(total, "report")
            ),
        )
    } else {
        let judged = total - insufficient;
        let mut detail = format!(
            "{judged} of {} judged; none regressed.",
            count(total, "report")
        );
        if insufficient > 0 {
            detail.push_str(&format!(" {insufficient} had too little data to judge."));
        }
        ("ok", "No regression", detail)
    }
}

/// A row per report: its verdict, value, change, p-values and sparkline,
/// linked to its section.
fn verdict_table(suite: &SuiteReport) -> Markup {
    html! {
        table {
            thead {
                tr {
                    th { "Verdict" }
                    th { "Metric" }
                    th { "Segment" }
                    th.num { "Runs" }
                    th.num { "Value" }
                    th.num { "Change" }
                    th.num { "p(worse)" }
                    th.num { "Holm p" }
                    th { "Per run" }
                }
            }
            tbody {
                @for (i, r) in suite.reports.iter().enumerate() {
                    @let s = &r.statistics;
                    @let values: Vec<Option<f64>> = r.summaries.iter().map(|run| run.value).collect();
                    tr class=[(s.verdict == Verdict::Regression).then_some("regression")] {
                        td { span class={ "verdict " (verdict_class(s.verdict)) } { (s.verdict.as_str()) } }
                        td.metric { a href={ "#report-" (i) } { (r.metric) } }
                        td { span.segment { (segment_label(r.segment.as_deref())) } }
                        td.num { (s.runs) }
                        td.num { (value_text(r, r.value)) }
                        td.num { (change_text(r)) }
                        td.num { (p_cell(s.p_worse)) }
                        td.num { (p_cell(r.p_adjusted)) }
                        td.spark { (sparkline(&values, SPARK_WIDTH)) }
                    }
                }
            }
        }
    }
}

/// What the suite left out, and the first [`LISTED_ISSUES`] skipped rows
/// (the page lists them itself rather than pointing to the JSON).
fn left_out_list(suite: &SuiteReport) -> Markup {
    let notes: Vec<String> = super::left_out(suite)
        .into_iter()
        .filter(|n| !n.ends_with("(see --format json)"))
        .map(|n| format!("{n}."))
        .collect();
    let issues = &suite.left_out.skipped_rows;
    html! {
        @if !notes.is_empty() || !issues.is_empty() {
            ul.notes {
                @for note in &notes {
                    li { (note) }
                }
                @if !issues.is_empty() {
                    li {
                        details {
                            summary { (count(issues.len(), "unreadable row")) " skipped" }
                            ul {
                                @for issue in issues.iter().take(LISTED_ISSUES) {
                                    li {
                                        (issue.at.to_string())
                                        @if let Some(trace) = &issue.trace_id {
                                            " (trace " span.segment { (trace) } ")"
                                        }
                                        ": " (issue.reason)
                                    }
                                }
                                @if issues.len() > LISTED_ISSUES {
                                    li { "… and " (issues.len() - LISTED_ISSUES) " more (see --format json)." }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// One report: its verdict, sentence, chart and last runs.
fn section(
    index: usize,
    report: &MetricReport,
    runs: &[RunValue],
    change: Option<&Marker<'_>>,
    look: &Look,
    svg: Option<&str>,
) -> Markup {
    let s = &report.statistics;
    // A mean's `decisions` counts the measurements behind it (traces with
    // steps, scores), not gate decisions.
    let observed = match report.metric.kind() {
        MetricKind::Rate => "decision",
        MetricKind::Mean => "observation",
    };
    html! {
        section id={ "report-" (index) } class={ "card " (verdict_class(s.verdict)) } {
            h2 {
                span class={ "verdict " (verdict_class(s.verdict)) } { (s.verdict.as_str()) }
                span { (report.metric) }
                span.segment { (segment_label(report.segment.as_deref())) }
            }
            p.summary { (s.summary) }
            p.facts {
                "Value " b { (value_text(report, report.value)) }
                " · change " b { (change_text(report)) }
                " · p(worse) " b { (p_cell(s.p_worse)) }
                " · Holm p " b { (p_cell(report.p_adjusted)) }
                " · " (count(s.runs, "run")) " judged, " (count(usize::try_from(s.decisions).unwrap_or(usize::MAX), observed))
            }
            @if let Some(c) = &change {
                p.facts {
                    "Change point at run " b { (c.run_index) } " (" span.segment { (c.key) } "): "
                    (report.metric.format_value(c.before)) " → "
                    (report.metric.format_value(c.after))
                    ", " (c.test) " p = " (p_cell(Some(c.p_value)))
                }
            }
            @if let Some(svg) = svg {
                figure {
                    (PreEscaped(svg))
                    (caption(report, runs, change.is_some(), look))
                }
            } @else {
                p.empty { "No run has a value to chart." }
            }
            @if !s.notes.is_empty() {
                ul.notes {
                    @for note in &s.notes {
                        li { (note) }
                    }
                }
            }
            @if !runs.is_empty() {
                (last_runs(report, runs))
            }
        }
    }
}

/// A chart's key (what each line, band and mark is) and the runs its x
/// axis spans.
fn caption(report: &MetricReport, runs: &[RunValue], changed: bool, look: &Look) -> Markup {
    let (first, last) = (runs.first(), runs.last());
    let fitted = look.trend_line && runs.iter().any(|r| finite(r.fitted).is_some());
    let banded = look.trend_line && runs.iter().any(|r| r.band.is_some());
    html! {
        figcaption {
            @if look.bins.is_some() {
                span.key.value {} (report.metric.noun()) " of each "
                (look.runs_per_bin) " runs or so, pooled (at least "
                (BIN_DECISIONS) " decisions), with its 95% interval"
            } @else {
                span.key.value {} "per-run " (report.metric.noun())
            }
            @if fitted {
                span.key.trend {} (match report.metric.kind() {
                    MetricKind::Rate => "fitted trend",
                    MetricKind::Mean => "Sen's line",
                })
            }
            @if banded {
                // A rate's band covers the level and the slope;
                // a mean's only the slope (see `fit_mean`).
                span.key.band {} (match report.metric.kind() {
                    MetricKind::Rate => "its 95% confidence band",
                    MetricKind::Mean => "the lines of its slope's 95% interval",
                })
            }
            @if changed {
                span.key.change {} "change point and the levels before and after"
            }
            @if let (Some(first), Some(last)) = (first, last) {
                // A block rather than `br`, which maud writes
                // as HTML (`<br>`), not XML.
                div {
                    "Runs numbered from 0 (" (first.run_key) ") to "
                    (last.run_index) " (" (last.run_key) ")."
                    @if runs.len() > CHART_POINTS {
                        " The line joins the lowest and highest value of each stretch of "
                        (runs.len().div_ceil(CHART_POINTS / 2)) " runs."
                    }
                }
            }
        }
    }
}

/// The last [`TABLE_RUNS`] runs' table, folded.
fn last_runs(report: &MetricReport, runs: &[RunValue]) -> Markup {
    let listed = &runs[runs.len().saturating_sub(TABLE_RUNS)..];
    html! {
        details {
            summary {
                @if listed.len() < runs.len() {
                    "The last " (listed.len()) " of " (count(runs.len(), "run"))
                    " (--format json lists every run)"
                } @else {
                    (count(runs.len(), "run"))
                }
            }
            (run_table(report, listed))
        }
    }
}

/// The runs' table.
fn run_table(report: &MetricReport, runs: &[RunValue]) -> Markup {
    html! {
        table {
            thead {
                tr {
                    th.num { "#" }
                    th { "Run" }
                    th { "Started" }
                    th.num { "Traces" }
                    th.num { "Decisions" }
                    th.num { "Value" }
                    th.num { "Trend" }
                }
            }
            tbody {
                @for run in runs {
                    tr {
                        td.num { (run.run_index) }
                        td { span.segment { (run.run_key) } }
                        td { (run.started_at) }
                        td.num { (run.traces) }
                        td.num { (run.decisions) }
                        td.num { (value_text(report, run.value)) }
                        td.num { (value_text(report, run.fitted)) }
                    }
                }
            }
        }
    }
}

/// The closing note.
fn footer() -> Markup {
    html! {
        footer {
            "Generated by traceflow. p(worse) is one-sided, toward the metric's worse direction; "
            "Holm p holds every report to the suite's false-alarm rate together."
        }
    }
}

/// A finite value, or none.
fn finite(value: Option<f64>) -> Option<f64> {
    value.filter(|v| v.is_finite())
}

/// Splits points into the runs of consecutive ones that exist (a missing
/// point is a gap in the line, not a jump across it).
fn stretches<T>(points: impl IntoIterator<Item = Option<T>>) -> Vec<Vec<T>> {
    let mut all = Vec::new();
    let mut current = Vec::new();
    for point in points {
        match point {
            Some(p) => current.push(p),
            None if !current.is_empty() => all.push(std::mem::take(&mut current)),
            None => {}
        }
    }
    if !current.is_empty() {
        all.push(current);
    }
    all
}

/// The indices of the runs a smooth line is drawn through: all of them,
/// or evenly spaced ones and the last for a long series.
fn thinned(runs: usize) -> impl Iterator<Item = usize> {
    let step = runs.div_ceil(CHART_POINTS).max(1);
    (0..runs)
        .step_by(step)
        .chain((runs > 0 && !(runs - 1).is_multiple_of(step)).then(|| runs - 1))
}

/// The per-run values to draw: each of them, or for a long series the
/// lowest and highest of each stretch, in run order.
fn value_points(runs: &[RunValue]) -> Vec<Option<(f64, f64)>> {
    if runs.len() <= CHART_POINTS {
        return runs
            .iter()
            .enumerate()
            .map(|(i, r)| finite(r.value).map(|v| (i as f64, v)))
            .collect();
    }
    let buckets = CHART_POINTS / 2;
    let mut points = Vec::with_capacity(CHART_POINTS);
    for b in 0..buckets {
        let range = b * runs.len() / buckets..(b + 1) * runs.len() / buckets;
        let start = range.start;
        let mut low: Option<(usize, f64)> = None;
        let mut high: Option<(usize, f64)> = None;
        for (offset, run) in runs[range].iter().enumerate() {
            let Some(v) = finite(run.value) else { continue };
            let i = start + offset;
            if low.is_none_or(|(_, l)| v < l) {
                low = Some((i, v));
            }
            if high.is_none_or(|(_, h)| v > h) {
                high = Some((i, v));
            }
        }
        match (low, high) {
            (Some(l), Some(h)) => {
                let (a, b) = if l.0 <= h.0 { (l, h) } else { (h, l) };
                points.push(Some((a.0 as f64, a.1)));
                if a.0 != b.0 {
                    points.push(Some((b.0 as f64, b.1)));
                }
            }
            _ => points.push(None),
        }
    }
    points
}

/// The y axis' range: the data's with a margin, within [0, 1] for rates.
fn y_range(low: f64, high: f64, kind: MetricKind) -> (f64, f64) {
    let span = high - low;
    let pad = if span > 1e-12 {
        0.08 * span
    } else if kind == MetricKind::Rate {
        0.05
    } else if high.abs() > 1e-12 {
        0.1 * high.abs()
    } else {
        1.0
    };
    let (low, high) = (low - pad, high + pad);
    match kind {
        MetricKind::Rate => (low.max(0.0), high.min(1.0)),
        MetricKind::Mean => (low, high),
    }
}

/// Where a report's level changed: a rate's step (its rates before and
/// after) or a mean's shift (the medians before and after).
struct Marker<'r> {
    run_index: usize,
    key: &'r str,
    before: f64,
    after: f64,
    test: &'static str,
    p_value: f64,
}

fn marker(report: &MetricReport) -> Option<Marker<'_>> {
    let s = &report.statistics;
    let runs = report.summaries.len();
    let step = s.evidence.change_point().map(|c| Marker {
        run_index: c.run_index,
        key: &c.trace_id,
        before: c.before.rate,
        after: c.after.rate,
        test: "step test",
        p_value: c.p_value,
    });
    let shift = || {
        s.evidence.shift().map(|c| Marker {
            run_index: c.run_index,
            key: &c.trace_id,
            before: c.before,
            after: c.after,
            test: "Pettitt's test",
            p_value: c.p_value,
        })
    };
    step.or_else(shift).filter(|m| m.run_index < runs)
}

/// Decisions a bin of runs pools at the least before its rate is drawn: a
/// run of one to three decisions is 0, 50 or 100%, which no one can read.
const BIN_DECISIONS: u64 = 30;

/// Bins drawn at the most.
const MAX_BINS: u64 = 60;

/// Consecutive runs pooled into one point of a rate's chart.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Bin {
    /// The middle of its runs, in run numbers.
    x: f64,
    /// Its pooled rate.
    rate: f64,
    /// The rate's 95% Wilson interval.
    band: (f64, f64),
}

/// How a report is drawn.
struct Look {
    /// A rate over runs too small to read one by one, pooled; `None`: each
    /// run is drawn.
    bins: Option<Vec<Bin>>,
    /// Runs per bin, about (for the caption).
    runs_per_bin: usize,
    /// The fitted line and its band: drawn for a gradual trend (and for a
    /// mean's Sen line), not over a step, which the levels show.
    trend_line: bool,
    /// The x axis names the runs' dates (time-pooled runs).
    dated: bool,
}

impl Look {
    fn of(report: &MetricReport, runs: &[RunValue], dated: bool) -> Look {
        let stepped = report
            .statistics
            .change
            .is_some_and(|c| c.kind == ChangeKind::Step);
        let bins = (report.metric.kind() == MetricKind::Rate)
            .then(|| binned(runs))
            .flatten();
        let runs_per_bin = bins
            .as_ref()
            .map_or(1, |b| runs.len().div_ceil(b.len().max(1)));
        Look {
            bins,
            runs_per_bin,
            trend_line: !stepped,
            dated,
        }
    }
}

/// A rate's runs pooled into bins of at least [`BIN_DECISIONS`] decisions
/// (more for long series, so that at most [`MAX_BINS`] are drawn), or
/// `None` when most runs hold enough decisions to be read alone.
fn binned(runs: &[RunValue]) -> Option<Vec<Bin>> {
    let mut sizes: Vec<u64> = runs.iter().map(|r| r.decisions).collect();
    let total: u64 = sizes.iter().sum();
    if runs.len() <= 2 {
        return None;
    }
    let middle = sizes.len() / 2;
    let median = *sizes.select_nth_unstable(middle).1;
    if median >= BIN_DECISIONS && runs.len() <= CHART_POINTS {
        return None;
    }
    let target = BIN_DECISIONS.max(total.div_ceil(MAX_BINS));
    let mut bins = Vec::new();
    let (mut events, mut trials, mut first) = (0u64, 0u64, 0usize);
    for (i, run) in runs.iter().enumerate() {
        if let Some(v) = finite(run.value) {
            // A run's rate is its events over its decisions, exactly.
            events += (v * run.decisions as f64).round() as u64;
            trials += run.decisions;
        }
        if trials >= target || i + 1 == runs.len() {
            if let Some(band) = crate::stats::wilson(events.min(trials), trials, 0.95) {
                bins.push(Bin {
                    x: (first + i) as f64 / 2.0,
                    rate: events as f64 / trials as f64,
                    band,
                });
            }
            (events, trials, first) = (0, 0, i + 1);
        }
    }
    (!bins.is_empty()).then_some(bins)
}

/// How many x labels fit side by side: a date or an hour key is 10 to 13
/// characters, about 8 px each at 14 px, and a gap; at most 12, at least 2.
fn x_label_count(runs: &[RunValue], dated: bool) -> usize {
    let widest = if dated {
        runs.iter()
            .map(|r| r.run_key.chars().count())
            .max()
            .unwrap_or(0)
    } else {
        runs.len().to_string().len()
    };
    let per_label = widest as u32 * 8 + 24;
    let fit = ((CHART_SIZE.0 - CHART_X_INSET) / per_label.max(1)) as usize;
    runs.len().clamp(2, fit.clamp(2, 12))
}

/// A report's chart as an SVG element, drawn by plotters; `None` when
/// there is nothing to draw. Only numbers go into it (see the module's
/// documentation).
fn chart(
    report: &MetricReport,
    runs: &[RunValue],
    change: Option<&Marker<'_>>,
    look: &Look,
) -> Result<Option<String>, String> {
    let levels = change
        .map(|c| (c.run_index as f64, c.before, c.after))
        .filter(|(_, before, after)| before.is_finite() && after.is_finite());
    let Some((low, high)) = y_bounds(report, runs, look, levels) else {
        return Ok(None);
    };
    let drawing = Drawing {
        report,
        runs,
        change,
        levels,
        look,
        low,
        high,
        last: runs.len() as f64 - 1.0,
    };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, CHART_SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(drawing_failed)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(26)
            .y_label_area_size(64)
            .build_cartesian_2d(-0.5..drawing.last + 0.5, low..high)
            .map_err(drawing_failed)?;
        drawing.draw_axes(&mut chart)?;
        drawing.draw_trend(&mut chart)?;
        drawing.mark_change(&mut chart)?;
        match &look.bins {
            Some(bins) => draw_bins(&mut chart, bins)?,
            None => drawing.draw_values(&mut chart)?,
        }
        root.present().map_err(drawing_failed)?;
    }
    Ok(Some(svg))
}

/// The y axis' range for what a chart draws (the values or bins, the
/// trend and its band when drawn, the levels either side of a change), or
/// `None` when there is nothing to draw or plotters could not place ticks
/// on it.
fn y_bounds(
    report: &MetricReport,
    runs: &[RunValue],
    look: &Look,
    levels: Option<(f64, f64, f64)>,
) -> Option<(f64, f64)> {
    let mut low = f64::INFINITY;
    let mut high = f64::NEG_INFINITY;
    for run in runs {
        let value = finite(run.value).filter(|_| look.bins.is_none());
        let fitted = finite(run.fitted).filter(|_| look.trend_line);
        let band = finite_band(run)
            .filter(|_| look.trend_line)
            .into_iter()
            .flatten();
        for v in value.into_iter().chain(fitted).chain(band) {
            low = low.min(v);
            high = high.max(v);
        }
    }
    for bin in look.bins.iter().flatten() {
        for v in [bin.rate, bin.band.0, bin.band.1] {
            low = low.min(v);
            high = high.max(v);
        }
    }
    if low > high {
        return None;
    }
    if let Some((_, before, after)) = levels {
        low = low.min(before).min(after);
        high = high.max(before).max(after);
    }
    let (low, high) = y_range(low, high, report.metric.kind());
    // plotters places its ticks by stepping through the range: a range
    // past the largest float, or too narrow for its magnitude to hold
    // distinct ticks (values near 1e250 apart by an ulp), never ends.
    let width = high - low;
    (width.is_finite() && width > high.abs().max(low.abs()) * 1e-9).then_some((low, high))
}

/// A run's band when both its ends are finite.
fn finite_band(run: &RunValue) -> Option<[f64; 2]> {
    run.band.filter(|[a, b]| a.is_finite() && b.is_finite())
}

/// A chart's plotting area: run numbers across, the metric up.
type Chart<'a, 'b> =
    ChartContext<'a, SVGBackend<'b>, Cartesian2d<types::RangedCoordf64, types::RangedCoordf64>>;

/// Why plotters could not draw, for the report's error.
fn drawing_failed(e: impl std::fmt::Display) -> String {
    format!("drawing a chart failed: {e}")
}

/// What one report's chart draws, on the y range fixed for it.
struct Drawing<'r> {
    report: &'r MetricReport,
    runs: &'r [RunValue],
    change: Option<&'r Marker<'r>>,
    /// The change point's run and the levels before and after it.
    levels: Option<(f64, f64, f64)>,
    look: &'r Look,
    /// The y axis' range.
    low: f64,
    high: f64,
    /// The last run's x.
    last: f64,
}

impl Drawing<'_> {
    /// The grid, the axes and their labels: run numbers (or a time
    /// bucket's key) across, the metric's values up.
    fn draw_axes(&self, chart: &mut Chart<'_, '_>) -> Result<(), String> {
        let x_label = |x: &f64| {
            // Runs are whole numbers; a tick between two runs stays blank.
            if (x - x.round()).abs() < 1e-9 && *x >= 0.0 {
                match self.runs.get(x.round() as usize) {
                    // A day's key is its date, an hour's its date and hour.
                    Some(run) if self.look.dated => run.run_key.clone(),
                    _ => format!("{x:.0}"),
                }
            } else {
                String::new()
            }
        };
        let y_label = |y: &f64| self.report.metric.format_value(*y);
        chart
            .configure_mesh()
            .x_labels(x_label_count(self.runs, self.look.dated))
            .y_labels(5)
            .max_light_lines(0)
            .x_label_formatter(&x_label)
            .y_label_formatter(&y_label)
            .bold_line_style(GRID_COLOR)
            .axis_style(AXIS_COLOR)
            .label_style(("sans-serif", 14).into_font().color(&AXIS_COLOR))
            .draw()
            .map_err(drawing_failed)
    }

    /// The fitted trend over its band, when the look has them.
    fn draw_trend(&self, chart: &mut Chart<'_, '_>) -> Result<(), String> {
        let n = self.runs.len();
        let band_points = thinned(n)
            .filter(|_| self.look.trend_line)
            .map(|i| finite_band(&self.runs[i]).map(|b| (i as f64, b)));
        for stretch in stretches(band_points) {
            // Upper edge left to right, lower edge back.
            let outline: Vec<(f64, f64)> = stretch
                .iter()
                .map(|&(x, [_, hi])| (x, hi))
                .chain(stretch.iter().rev().map(|&(x, [lo, _])| (x, lo)))
                .collect();
            chart
                .draw_series(std::iter::once(Polygon::new(
                    outline,
                    TREND_COLOR.mix(0.18).filled(),
                )))
                .map_err(drawing_failed)?;
        }

        let fitted = thinned(n)
            .filter(|_| self.look.trend_line)
            .map(|i| finite(self.runs[i].fitted).map(|v| (i as f64, v)));
        for stretch in stretches(fitted) {
            chart
                .draw_series(LineSeries::new(stretch, TREND_COLOR.stroke_width(2)))
                .map_err(drawing_failed)?;
        }
        Ok(())
    }

    /// The change point, dashed across the chart, and the levels either
    /// side of it.
    fn mark_change(&self, chart: &mut Chart<'_, '_>) -> Result<(), String> {
        if let Some(c) = self.change {
            let x = c.run_index as f64;
            chart
                .draw_series(DashedLineSeries::new(
                    [(x, self.low), (x, self.high)],
                    6,
                    4,
                    CHANGE_COLOR.stroke_width(2),
                ))
                .map_err(drawing_failed)?;
        }
        if let Some((x, before, after)) = self.levels {
            for segment in [
                [(0.0, before), (x, before)],
                [(x, after), (self.last, after)],
            ] {
                chart
                    .draw_series(LineSeries::new(
                        segment,
                        CHANGE_COLOR.mix(0.85).stroke_width(2),
                    ))
                    .map_err(drawing_failed)?;
            }
        }
        Ok(())
    }

    /// Each run's value: a line (thinned for a long series), with a dot
    /// per run for a short one.
    fn draw_values(&self, chart: &mut Chart<'_, '_>) -> Result<(), String> {
        let n = self.runs.len();
        for stretch in stretches(value_points(self.runs)) {
            chart
                .draw_series(LineSeries::new(
                    stretch,
                    VALUE_COLOR.mix(0.45).stroke_width(1),
                ))
                .map_err(drawing_failed)?;
        }
        if n <= MARKED_RUNS {
            let radius = if n <= 60 { 3 } else { 2 };
            let dots = self
                .runs
                .iter()
                .enumerate()
                .filter_map(|(i, r)| finite(r.value).map(|v| (i as f64, v)))
                .map(|p| Circle::new(p, radius, VALUE_COLOR.filled()));
            chart.draw_series(dots).map_err(drawing_failed)?;
        }
        Ok(())
    }
}

/// A rate's pooled bins with their interval, band first, in place of the
/// runs' values.
fn draw_bins(chart: &mut Chart<'_, '_>, bins: &[Bin]) -> Result<(), String> {
    let outline: Vec<(f64, f64)> = bins
        .iter()
        .map(|b| (b.x, b.band.1))
        .chain(bins.iter().rev().map(|b| (b.x, b.band.0)))
        .collect();
    chart
        .draw_series(std::iter::once(Polygon::new(
            outline,
            VALUE_COLOR.mix(0.15).filled(),
        )))
        .map_err(drawing_failed)?;
    chart
        .draw_series(LineSeries::new(
            bins.iter().map(|b| (b.x, b.rate)),
            VALUE_COLOR.stroke_width(2),
        ))
        .map_err(drawing_failed)?;
    chart
        .draw_series(
            bins.iter()
                .map(|b| Circle::new((b.x, b.rate), 3, VALUE_COLOR.filled())),
        )
        .map_err(drawing_failed)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The report as if no step were significant.
    fn without_step(stats: &mut crate::verdict::Statistics) {
        if let crate::verdict::Evidence::Rate(rate) = &mut stats.evidence {
            rate.change_point = None;
        }
    }
    use crate::report::tests::suite_report;
    use crate::report::{render, Format};

    /// The fixture's model name that tries to become markup.
    const HOSTILE: &str = r#"<script>alert("x")</script> & 'm'"#;

    fn parse(html: &str) -> roxmltree::Document<'_> {
        let options = roxmltree::ParsingOptions {
            allow_dtd: true,
            ..roxmltree::ParsingOptions::default()
        };
        roxmltree::Document::parse_with_options(html, options)
            .unwrap_or_else(|e| panic!("not well-formed XML: {e}"))
    }

    #[test]
    fn suite_html() {
        insta::assert_snapshot!(render(&suite_report(), Format::Html));
    }

    #[test]
    fn page_is_xml_without_script_or_fetches_and_escapes_store_text() {
        let html = render(&suite_report(), Format::Html);
        let doc = parse(&html);
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "html");

        for node in root.descendants().filter(|n| n.is_element()) {
            let name = node.tag_name().name();
            assert!(
                !matches!(
                    name,
                    "script" | "iframe" | "object" | "embed" | "link" | "img"
                ),
                "<{name}> in the page"
            );
            for attr in node.attributes() {
                assert!(
                    !attr.name().starts_with("on"),
                    "{} on <{name}>",
                    attr.name()
                );
                if matches!(attr.name(), "href" | "src") {
                    assert!(
                        attr.value().starts_with('#'),
                        "{}={}",
                        attr.name(),
                        attr.value()
                    );
                }
            }
        }
        let without_ns = html.replace(r#"xmlns="http://www.w3.org/2000/svg""#, "");
        assert!(!without_ns.contains("http://"));
        assert!(!without_ns.contains("https://"));
        assert!(!html.contains("NaN"));
        assert!(!html.contains("<script"));

        // The hostile name comes back as the same text, not as markup.
        let texts: Vec<&str> = root.descendants().filter_map(|n| n.text()).collect();
        assert!(
            texts.contains(&HOSTILE),
            "the model name is not a text node"
        );
        assert!(texts.contains(&"mo\u{FFFD}del"));

        // One chart per report that has values; each is XML by itself and
        // holds only numbers: no store text in it.
        let svgs: Vec<_> = root
            .descendants()
            .filter(|n| n.tag_name().name() == "svg")
            .collect();
        assert_eq!(svgs.len(), 11, "the cost of mo\u{FFFD}del has no values");
        for svg in svgs {
            let text = &html[svg.range()];
            let alone = roxmltree::Document::parse(text).unwrap();
            assert_eq!(alone.root_element().tag_name().name(), "svg");
            for attr in alone.descendants().flat_map(|n| n.attributes()) {
                assert!(
                    !attr.value().contains("NaN") && !attr.value().contains("inf"),
                    "{}={:?} in a chart",
                    attr.name(),
                    attr.value()
                );
            }
            for label in alone.descendants().filter_map(|n| n.text()) {
                let label = label.trim();
                assert!(
                    label
                        .chars()
                        .all(|c| c.is_ascii_digit() || ".-%$ ".contains(c)),
                    "{label:?} in a chart"
                );
            }
        }

        // Verdict badges: five regressions in the summary and five sections.
        let regressions = root
            .descendants()
            .filter(|n| n.attribute("class") == Some("verdict regression"))
            .count();
        assert_eq!(regressions, 10);
    }

    #[test]
    fn missing_values_and_reports_without_runs_render() {
        let mut suite = suite_report();
        // The model whose traces have no steps: its cost has no values.
        let empty = suite
            .reports
            .iter()
            .find(|r| r.metric.unit() == "usd" && r.segment.as_deref() == Some("mo\u{FFFD}del"))
            .unwrap();
        assert_eq!(empty.statistics.runs, 0);
        let mut no_runs = empty.clone();
        no_runs.summaries = Vec::new().into();
        without_step(&mut no_runs.statistics);

        let gappy = &mut suite.reports[0];
        let mut runs = gappy.summaries.to_vec();
        runs[3].value = None;
        runs[4].value = Some(f64::NAN);
        runs[5].fitted = None;
        runs[5].band = Some([f64::NAN, 1.0]);
        gappy.summaries = runs.into();
        gappy.value = None;
        suite.reports.push(no_runs);

        let html = render(&suite, Format::Html);
        let doc = parse(&html);
        assert!(!html.contains("NaN"));
        assert!(html.contains("No run has a value to chart."));
        let sections = doc
            .descendants()
            .filter(|n| n.tag_name().name() == "section")
            .count();
        assert_eq!(sections, suite.reports.len());
    }

    #[test]
    fn long_series_are_thinned_and_list_their_last_runs() {
        let mut suite = suite_report();
        suite.reports.truncate(1);
        let report = &mut suite.reports[0];
        let template = report.summaries.first().unwrap();
        report.summaries = (0..5_000)
            .map(|i| RunValue {
                run_index: i,
                run_key: format!("run-{i}"),
                value: (i % 7 != 0).then(|| 0.5 + 0.3 * ((i as f64) / 40.0).sin()),
                fitted: Some(0.5),
                band: Some([0.45, 0.55]),
                ..template.clone()
            })
            .collect::<Vec<_>>()
            .into();
        without_step(&mut report.statistics);

        let html = render(&suite, Format::Html);
        let doc = parse(&html);
        let rows: Vec<_> = doc
            .descendants()
            .filter(|n| n.tag_name().name() == "details")
            .flat_map(|d| d.descendants().filter(|n| n.tag_name().name() == "tr"))
            .collect();
        // The header and the last 50 runs.
        assert_eq!(rows.len(), 1 + TABLE_RUNS);
        assert!(html.contains("The last 50 of 5000 runs"));
        assert!(html.contains("run-4999") && !html.contains("run-4949<"));
        // Too many runs to mark each: the rate is drawn pooled, a point a bin.
        let circles = html.matches("<circle").count();
        assert!(
            circles > 0 && circles as u64 <= MAX_BINS,
            "{circles} points"
        );
        assert!(html.contains(" runs or so, pooled (at least 30 decisions)"));
        assert!(html.len() < 200_000, "{} bytes", html.len());
    }

    #[test]
    fn small_runs_are_pooled_into_readable_bins_with_their_interval() {
        // 90 runs of one decision each: each run alone is 0% or 100%.
        let runs: Vec<RunValue> = (0..90)
            .map(|i| RunValue {
                run_index: i,
                run_key: format!("t{i}"),
                started_at: jiff::Timestamp::UNIX_EPOCH,
                traces: 1,
                decisions: 1,
                value: Some(if i % 4 == 0 { 0.0 } else { 1.0 }),
                fitted: None,
                band: None,
            })
            .collect();
        let bins = binned(&runs).unwrap();
        assert_eq!(bins.len(), 3, "{bins:?}");
        assert_eq!(bins[0].x, 14.5);
        // Runs 0..30: 8 of them fail (0, 4, ..., 28).
        assert!((bins[0].rate - 22.0 / 30.0).abs() < 1e-12, "{bins:?}");
        assert!(bins[0].band.0 < bins[0].rate && bins[0].rate < bins[0].band.1);
        // Runs that each hold enough decisions are drawn one by one.
        let big: Vec<RunValue> = runs
            .iter()
            .map(|r| RunValue {
                decisions: 40,
                ..r.clone()
            })
            .collect();
        assert!(binned(&big).is_none());
    }

    #[test]
    fn values_no_chart_can_hold_render_without_one() {
        // plotters never finished placing ticks on these ranges.
        let mut suite = suite_report();
        suite.reports.truncate(1);
        suite.reports[0].metric = crate::trend::Metric::Cost;
        for values in [[-1e308, 1e308], [1e250, 1e250 * (1.0 + f64::EPSILON)]] {
            let report = &mut suite.reports[0];
            let mut runs = report.summaries.to_vec();
            for (run, v) in runs.iter_mut().zip(values.iter().cycle()) {
                run.value = Some(*v);
                run.fitted = None;
                run.band = None;
            }
            report.summaries = runs.into();
            without_step(&mut report.statistics);
            report.statistics.change = None;
            let html = render(&suite, Format::Html);
            assert!(html.contains("No run has a value to chart."), "{values:?}");
        }
    }

    #[test]
    fn characters_xml_forbids_are_replaced() {
        let mut out = Vec::new();
        write_text(&mut out, "a\u{1}b\tc\u{ffff}\r\u{9b}\u{202e}x\n").unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a\u{FFFD}b\tc\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}x\n"
        );
    }
}
