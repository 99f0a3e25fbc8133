//! Reports of a trend: a terminal table, JSON, Markdown, JUnit XML and an
//! HTML page with charts.
//!
//! Each format is an exporter of a [`Document`]: the single pass-rate
//! trend over traces ([`TraceTrendReport`]), the reports of several
//! metrics and segments over pooled runs ([`SuiteReport`]), or the
//! per-case comparison ([`CaseReport`]). [`write()`] picks the exporter by
//! [`Format`]. Markdown, JUnit and HTML render a trace report as a suite of
//! one report.

use std::fmt;
use std::io;
use std::str::FromStr;

use crate::cases::CaseReport;
use crate::compare::CompareReport;
use crate::trend::{MetricKind, MetricReport, SuiteReport, TraceTrendReport};

mod case_table;
mod compare_table;
pub mod file;
#[cfg(feature = "html")]
mod html;
mod json;
#[cfg(feature = "junit")]
mod junit;
mod markdown;
mod suite_table;
mod table;
pub mod terminal;
pub mod wording;

pub(crate) use terminal::printable;

/// An output format. JUnit XML and HTML come with the `junit` and `html`
/// features; non-exhaustive, so a match written without them still
/// compiles when another crate in the build turns them on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// The proposal's terminal table.
    Table,
    /// A JSON document (see the `json` exporter for its layout).
    Json,
    /// Markdown for `$GITHUB_STEP_SUMMARY` and pull-request comments.
    Markdown,
    /// JUnit XML: one test case per metric × segment.
    #[cfg(feature = "junit")]
    Junit,
    /// One self-contained HTML page with a chart per report.
    #[cfg(feature = "html")]
    Html,
}

impl Format {
    /// Every format this build writes, for help texts.
    pub const ALL: &'static [Format] = &[
        Format::Table,
        Format::Json,
        Format::Markdown,
        #[cfg(feature = "junit")]
        Format::Junit,
        #[cfg(feature = "html")]
        Format::Html,
    ];

    /// The formats that need a feature of the same name: a build without
    /// one says so rather than "unknown format".
    const OPTIONAL: &'static [&'static str] = &["junit", "html"];

    /// The name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Json => "json",
            Format::Markdown => "markdown",
            #[cfg(feature = "junit")]
            Format::Junit => "junit",
            #[cfg(feature = "html")]
            Format::Html => "html",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = crate::error::InvalidValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(format) = Format::ALL
            .iter()
            .copied()
            .find(|f| f.as_str().eq_ignore_ascii_case(s))
        {
            return Ok(format);
        }
        if let Some(name) = Format::OPTIONAL
            .iter()
            .find(|name| name.eq_ignore_ascii_case(s))
        {
            return Err(crate::error::InvalidValue::new(format!(
                "format {name} is not in this build (traceflow's `{name}` feature)"
            )));
        }
        let names: Vec<&str> = Format::ALL.iter().map(|f| f.as_str()).collect();
        let expected = match names.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            _ => names.join(""),
        };
        Err(crate::error::InvalidValue::new(format!(
            "unknown format {s:?} (expected {expected})"
        )))
    }
}

/// What a report renders.
#[derive(Debug, Clone, Copy)]
pub enum Document<'r> {
    /// The pass-rate trend over traces.
    Trace {
        /// The trend.
        report: &'r TraceTrendReport,
        /// Which runs the table lists (the other formats list every run,
        /// HTML its newest).
        runs: RunListing,
    },
    /// Several metrics and segments over pooled runs.
    Suite(&'r SuiteReport),
    /// A candidate against a baseline, with the cases of the two.
    Compare {
        /// The comparison.
        report: &'r CompareReport,
        /// Which cases the table, Markdown and HTML list.
        listing: CaseListing,
    },
    /// The per-case comparison.
    Cases {
        /// The comparison.
        report: &'r CaseReport,
        /// Which cases the table, Markdown and HTML list (the JSON lists
        /// every case, JUnit the regressed and flaky ones).
        listing: CaseListing,
    },
}

/// Which runs a trace report's table lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RunListing {
    /// Every run of the window, oldest first.
    #[default]
    All,
    /// The newest `n` runs, oldest first, and a line saying how many are
    /// left out: a window of 500 runs would scroll the verdict off a
    /// terminal.
    Newest(usize),
}

/// Which cases a report lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CaseListing {
    /// The regressed and newly failing ones: what broke.
    #[default]
    News,
    /// The flaky ones, with their pass chance.
    Flaky,
    /// Every case.
    All,
}

impl<'r> From<&'r CompareReport> for Document<'r> {
    fn from(report: &'r CompareReport) -> Self {
        Document::Compare {
            report,
            listing: CaseListing::News,
        }
    }
}

impl<'r> From<&'r CaseReport> for Document<'r> {
    fn from(report: &'r CaseReport) -> Self {
        Document::Cases {
            report,
            listing: CaseListing::News,
        }
    }
}

impl<'r> From<&'r TraceTrendReport> for Document<'r> {
    fn from(report: &'r TraceTrendReport) -> Self {
        Document::Trace {
            report,
            runs: RunListing::All,
        }
    }
}

impl<'r> From<&'r SuiteReport> for Document<'r> {
    fn from(report: &'r SuiteReport) -> Self {
        Document::Suite(report)
    }
}

/// Writes a document as text.
trait Exporter {
    fn write(&self, doc: Document<'_>, out: &mut dyn io::Write) -> io::Result<()>;
}

/// An exporter that renders suites and case comparisons: a trace report
/// is rendered as the suite of its one report.
trait SuiteExporter {
    fn write_suite(&self, suite: &SuiteReport, out: &mut dyn io::Write) -> io::Result<()>;

    fn write_cases(
        &self,
        report: &CaseReport,
        listing: CaseListing,
        out: &mut dyn io::Write,
    ) -> io::Result<()>;

    fn write_compare(
        &self,
        report: &CompareReport,
        listing: CaseListing,
        out: &mut dyn io::Write,
    ) -> io::Result<()>;
}

impl<E: SuiteExporter> Exporter for E {
    fn write(&self, doc: Document<'_>, out: &mut dyn io::Write) -> io::Result<()> {
        match doc {
            Document::Suite(suite) => self.write_suite(suite, out),
            Document::Trace { report, .. } => {
                self.write_suite(&SuiteReport::from_trace_report(report), out)
            }
            Document::Cases { report, listing } => self.write_cases(report, listing, out),
            Document::Compare { report, listing } => self.write_compare(report, listing, out),
        }
    }
}

fn exporter(format: Format) -> Box<dyn Exporter> {
    match format {
        Format::Table => Box::new(table::TableExporter),
        Format::Json => Box::new(json::JsonExporter),
        Format::Markdown => Box::new(markdown::MarkdownExporter),
        #[cfg(feature = "junit")]
        Format::Junit => Box::new(junit::JunitExporter),
        #[cfg(feature = "html")]
        Format::Html => Box::new(html::HtmlExporter),
    }
}

/// Writes a report in a format, streaming (a full-history report of a
/// million runs is not built in memory first); the text ends with a newline.
pub fn write<'r>(
    doc: impl Into<Document<'r>>,
    format: Format,
    out: &mut dyn io::Write,
) -> io::Result<()> {
    exporter(format).write(doc.into(), out)
}

/// Appends the text of `items[range]` to a buffer.
type RenderChunk<'r, T> = dyn Fn(&[T], std::ops::Range<usize>, &mut Vec<u8>) + Sync + 'r;

/// Items per chunk rendered by one thread.
const CHUNK_ITEMS: usize = 8192;

/// Renders `items` in chunks on every core and writes the chunks in order.
///
/// `render(items, range, buffer)` appends the text of `items[range]`; it
/// sees all items, so a row can refer to the one before it. A full-history
/// report holds a million runs, and rendering them costs more than reading
/// them. At most one chunk per core is in memory at a time.
fn write_chunked<T: Sync>(
    out: &mut dyn io::Write,
    items: &[T],
    render: &RenderChunk<'_, T>,
) -> io::Result<()> {
    use rayon::prelude::*;
    let threads = rayon::current_num_threads();
    if threads == 1 || items.len() <= CHUNK_ITEMS {
        let mut buffer = Vec::new();
        render(items, 0..items.len(), &mut buffer);
        return out.write_all(&buffer);
    }
    // One chunk per thread at a time, written in order.
    let chunks: Vec<usize> = (0..items.len()).step_by(CHUNK_ITEMS).collect();
    for batch in chunks.chunks(threads) {
        let buffers: Vec<Option<Vec<u8>>> = batch
            .par_iter()
            .map(|&from| {
                let to = (from + CHUNK_ITEMS).min(items.len());
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    let mut buffer = Vec::with_capacity((to - from) * 128);
                    render(items, from..to, &mut buffer);
                    buffer
                }))
                .ok()
            })
            .collect();
        for buffer in &buffers {
            let buffer = buffer
                .as_ref()
                .ok_or_else(|| io::Error::other("a report renderer thread panicked"))?;
            out.write_all(buffer)?;
        }
    }
    Ok(())
}

/// Renders a report in a format as a string.
pub fn render<'r>(report: impl Into<Document<'r>>, format: Format) -> String {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail, and every exporter writes UTF-8: the
    // bytes become the string without a copy (a million-run JSON report is
    // 244 MB).
    let _ = write(report, format, &mut out);
    String::from_utf8(out)
        .unwrap_or_else(|err| String::from_utf8_lossy(err.as_bytes()).into_owned())
}

/// The table's header alone: the verdict, the statistics behind it and
/// where the decisions came from, without a line per run.
pub fn render_verdict(report: &TraceTrendReport) -> String {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail, and the table is UTF-8.
    let _ = table::write_header(&mut out, report);
    String::from_utf8_lossy(&out).into_owned()
}

/// Lays out a header and rows of cells in columns two spaces apart,
/// without trailing blanks.
pub(super) fn columns(header: &[&str], rows: &[Vec<String>]) -> Vec<String> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: &[&str]| -> String {
        let mut text = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            text.push_str(cell);
            text.extend(std::iter::repeat_n(' ', w - cell.chars().count()));
        }
        text.trim_end().to_owned()
    };
    let mut lines = vec![line(header)];
    for row in rows {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        lines.push(line(&cells));
    }
    lines
}

/// Characters a sparkline takes at most.
const SPARK_WIDTH: usize = 24;

/// The per-run values as a line of block characters, low to high, at most
/// `width` wide: longer series are averaged into `width` buckets. Runs
/// without a value are blanks.
pub(crate) fn sparkline(values: &[Option<f64>], width: usize) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    if values.is_empty() || width == 0 {
        return String::new();
    }
    let buckets = values.len().min(width);
    let bucketed: Vec<Option<f64>> = (0..buckets)
        .map(|b| {
            let range = b * values.len() / buckets..(b + 1) * values.len() / buckets;
            let (sum, n) = values[range]
                .iter()
                .flatten()
                .filter(|v| v.is_finite())
                .fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
            (n > 0).then(|| sum / n as f64)
        })
        .collect();
    let (lo, hi) = bucketed
        .iter()
        .flatten()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
            (lo.min(v), hi.max(v))
        });
    bucketed
        .iter()
        .map(|v| match v {
            None => ' ',
            Some(_) if hi <= lo => BARS[3],
            Some(v) => {
                let level = ((v - lo) / (hi - lo) * 7.0).round() as usize;
                BARS[level.min(7)]
            }
        })
        .collect()
}

/// The change across the window in the metric's terms: points for rates
/// (Cochran–Armitage's fitted change), the unit for means (Sen's slope
/// across the judged runs); "-" when undefined.
pub fn change_text(report: &MetricReport) -> String {
    let s = &report.statistics;
    match report.metric.kind() {
        // The change the sentence states: a step's after − before, or the
        // trend's fitted change across the window.
        MetricKind::Rate => s.change.map_or_else(
            || "-".to_owned(),
            // Rounded first, so that a tiny decline is not "-0.0".
            |c| format!("{:+.1} pts", (1000.0 * c.change).round() / 10.0 + 0.0),
        ),
        // The sentence's change: Sen's slope across the runs, or least
        // squares where ties make Sen's 0.
        MetricKind::Mean => s.change.map_or_else(
            || "-".to_owned(),
            |c| {
                let text = report.metric.format_value(c.change.abs());
                format!("{}{text}", if c.change < 0.0 { '-' } else { '+' })
            },
        ),
    }
}

/// Whether a report's sentence is worth printing below the table: every
/// verdict but "stable", a stable one whose trend test was below its
/// level (a change too small to matter, or a regression Holm's correction
/// overruled), and one judged within the same cases (whose sentence says
/// what the mix of cases did).
pub(crate) fn worth_a_sentence(report: &MetricReport) -> bool {
    let s = &report.statistics;
    s.verdict != crate::trend::Verdict::Stable
        || s.p_worse.is_some_and(|p| p < s.level)
        || s.within_cases.is_some_and(|w| w.used)
}

/// A p-value for a table cell: 4 decimals, "<0.0001", or "-".
pub(crate) fn p_cell(p: Option<f64>) -> String {
    match p {
        None => "-".to_owned(),
        Some(p) if p < 1e-4 => "<0.0001".to_owned(),
        Some(p) => format!("{p:.4}"),
    }
}

/// The running traces counted as failed, in a phrase.
pub(crate) fn stale_note(stale: crate::trend::Stale) -> String {
    format!(
        "{} still running that started before {} counted as failed (crashed runs)",
        crate::text::count(stale.failed, "trace"),
        stale.before.strftime("%Y-%m-%d %H:%M:%S UTC")
    )
}

/// What a suite left out, one phrase each: still-running traces, traces
/// without the grouping's key, flaky cases, unreadable rows.
pub(crate) fn left_out(suite: &SuiteReport) -> Vec<String> {
    left_out_notes(&suite.left_out, None, &suite.group_by)
}

/// What a report left out, one phrase per thing in a fixed order, so that
/// every report and every format says it in the same words: the members a
/// report does not have are `None` and say nothing. `case_by` names the
/// key of uncased traces, `group_by` that of ungrouped ones.
pub(crate) fn left_out_notes(
    left_out: &crate::window::LeftOut,
    case_by: Option<&crate::trend::CaseBy>,
    group_by: &crate::trend::GroupBy,
) -> Vec<String> {
    use crate::text::count;
    let mut notes = Vec::new();
    if let (Some(uncased), Some(case_by)) = (left_out.uncased.filter(|&n| n > 0), case_by) {
        notes.push(format!(
            "{} without {case_by} left out of the cases",
            count(uncased, "trace")
        ));
    }
    if left_out.running > 0 {
        notes.push(format!(
            "{} still running left out",
            count(left_out.running, "trace")
        ));
    }
    if let Some(stale) = left_out.stale.filter(|s| s.failed > 0) {
        notes.push(stale_note(stale));
    }
    if let Some(ungrouped) = left_out.ungrouped.filter(|&n| n > 0) {
        notes.push(format!(
            "{} without {group_by} left out",
            count(ungrouped, "trace")
        ));
    }
    if let Some(flaky) = left_out.flaky {
        notes.push(format!(
            "{} of {} left out",
            count(flaky.traces, "trace"),
            count(flaky.cases, "flaky case")
        ));
    }
    if !left_out.skipped_rows.is_empty() {
        notes.push(format!(
            "{} skipped (see --format json)",
            count(left_out.skipped_rows.len(), "unreadable row")
        ));
    }
    notes
}

/// Store text made inert in a Markdown table cell (GitHub's Markdown and
/// HTML, mentions and links), as every Markdown report writes it.
pub fn markdown_cell(text: &str) -> String {
    markdown::escape(text)
}

/// A segment's label in a table: its value, or "(total)".
pub(crate) fn segment_label(segment: Option<&str>) -> String {
    segment.map_or_else(|| "(total)".to_owned(), str::to_owned)
}

/// A segment's name in a sentence or a test case: its value, or "total".
pub fn segment_name(segment: Option<&str>) -> &str {
    segment.unwrap_or("total")
}

#[cfg(test)]
mod tests;
