//! The Markdown report, for `$GITHUB_STEP_SUMMARY` and pull-request
//! comments.
//!
//! Layout: the verdict as a heading, so that it is what a reader sees
//! first; the suite's scope in one line; one table row per metric ×
//! segment; then the sentence of every report that is not stable, as a
//! list; then notes on traces and rows left out.
//!
//! ```text
//! ## ❌ Regression: 5 of 12 reports
//!
//! Trend of 3 metrics × … over 12 runs (one per day) of 732 traces, auto at α = 0.01, …
//!
//! | Metric | Segment | Verdict | Change | p(worse) | Holm p | Per run | Runs |
//! |---|---|---|--:|--:|--:|---|--:|
//! | pass-rate | (total) | ❌ regression | -14.6 pts | 0.0013 | 0.0065 | `██████▁▁▁▁▁▁` | 12 |
//!
//! - **pass-rate** (total): The pass rate fell by 14.6 points …
//! ```
//!
//! Text from the store (segment values such as model names) and from the
//! command line (score names, config keys) is escaped: GitHub renders
//! HTML inside Markdown, so a model named `<script>` must arrive as text.

use std::io;

use super::{
    case_table, change_text, compare_table, p_cell, segment_label, sparkline, suite_table,
    CaseListing, SuiteExporter, SPARK_WIDTH,
};
use crate::cases::CaseReport;
use crate::compare::CompareReport;
use crate::text::count;
use crate::trend::{MetricReport, SuiteReport, Verdict};

/// Writes a suite as GitHub-flavoured Markdown.
pub(super) struct MarkdownExporter;

impl SuiteExporter for MarkdownExporter {
    fn write_suite(&self, suite: &SuiteReport, out: &mut dyn io::Write) -> io::Result<()> {
        // Built in memory: a suite holds at most about a thousand reports, and
        // one write keeps a partial summary from reaching a file on error.
        let mut text = String::new();
        text.push_str(&heading(suite));
        text.push_str("\n\n");
        text.push_str(&escape(&suite_table::headline(suite)));
        text.push_str("\n\n");

        text.push_str(
            "| Metric | Segment | Verdict | Change | p(worse) | Holm p | Per run | Runs |\n",
        );
        text.push_str("|---|---|---|--:|--:|--:|---|--:|\n");
        for report in &suite.reports {
            text.push_str(&row(report));
            text.push('\n');
        }

        let notable: Vec<&MetricReport> = suite
            .reports
            .iter()
            .filter(|r| super::worth_a_sentence(r))
            .collect();
        if !notable.is_empty() {
            text.push('\n');
            for r in notable {
                text.push_str(&format!(
                    "- **{}** ({}): {}\n",
                    escape(&r.metric.to_string()),
                    escape(super::segment_name(r.segment.as_deref())),
                    escape(&r.statistics.summary)
                ));
            }
        }

        let notes = super::left_out(suite);
        if !notes.is_empty() {
            text.push_str(&format!("\n_Note: {}._\n", escape(&notes.join("; "))));
        }
        out.write_all(text.as_bytes())
    }

    /// The verdict as a heading, the scope and tally, then the listed
    /// cases as a table inside a collapsible `<details>` (a PR comment
    /// stays short however many cases broke).
    fn write_cases(
        &self,
        report: &CaseReport,
        listing: CaseListing,
        out: &mut dyn io::Write,
    ) -> io::Result<()> {
        let mut text = String::new();
        let (regressed, newly) = (report.counts.regressed, report.counts.newly_failing);
        text.push_str(&if regressed > 0 {
            format!("## ❌ {} regressed", count(regressed, "case"))
        } else if report.tested == 0 {
            "## ❔ No case could be compared".to_owned()
        } else {
            "## ✅ No case regressed".to_owned()
        });
        if newly > 0 {
            text.push_str(&format!(", {newly} newly failing"));
        }
        text.push_str("\n\n");
        text.push_str(&escape(&case_table::headline(report)));
        text.push_str(".  \n");
        text.push_str(&escape(&case_table::tally(report)));
        text.push_str(".\n");
        let (header, rows) = case_table::rows(&report.cases, listing);
        text.push_str(&listed_cases(header, &rows));
        let notes = case_table::notes(report, listing);
        if !notes.is_empty() {
            text.push_str(&format!("\n_Note: {}._\n", escape(&notes.join("; "))));
        }
        out.write_all(text.as_bytes())
    }

    /// The verdict as a heading, the sentence, the metrics' table, then the
    /// listed cases in a collapsible `<details>`.
    fn write_compare(
        &self,
        report: &CompareReport,
        listing: CaseListing,
        out: &mut dyn io::Write,
    ) -> io::Result<()> {
        use crate::compare::CompareVerdict;
        let mut text = String::new();
        text.push_str(match report.verdict {
            CompareVerdict::Regression => "## ❌ Regression: the candidate passes less often",
            CompareVerdict::Improvement => "## 📈 Improvement: the candidate passes more often",
            CompareVerdict::Stable => "## ✅ No regression",
            CompareVerdict::InsufficientData => "## ❔ No verdict: too little data",
        });
        text.push_str("\n\n");
        text.push_str(&escape(&compare_table::headline(report)));
        text.push_str(".  \n");
        text.push_str(&escape(&report.summary));
        text.push_str("\n\n| Metric | Baseline | Candidate | Difference |\n|---|--:|--:|--:|\n");
        for row in compare_table::metric_rows(report) {
            let cells: Vec<String> = row.iter().map(|c| escape(c)).collect();
            text.push_str(&format!("| {} |\n", cells.join(" | ")));
        }
        text.push('\n');
        text.push_str(&escape(&compare_table::case_tally(report)));
        text.push_str(".\n");
        let (header, rows) = case_table::rows(&report.cases, listing);
        text.push_str(&listed_cases(header, &rows));
        let (_, listed) = case_table::rows(&report.cases, listing);
        let notes = compare_table::notes(report, listing, listed.len());
        if !notes.is_empty() {
            text.push_str(&format!("\n_Note: {}._\n", escape(&notes.join("; "))));
        }
        out.write_all(text.as_bytes())
    }
}

/// The listed cases as a table inside a collapsible `<details>`, so that a
/// PR comment stays short however many broke; nothing without cases.
fn listed_cases(header: &[&str], rows: &[Vec<String>]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let mut text = format!(
        "\n<details><summary>{} listed</summary>\n\n",
        count(rows.len(), "case")
    );
    text.push_str(&format!("| {} |\n", header.join(" | ")));
    let rule: Vec<&str> = header
        .iter()
        .map(|h| if case_table::numeric(h) { "--:" } else { "---" })
        .collect();
    text.push_str(&format!("|{}|\n", rule.join("|")));
    for cells in rows {
        let cells: Vec<String> = cells.iter().map(|c| escape(c)).collect();
        text.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    text.push_str("\n</details>\n");
    text
}

/// The verdict as a level-2 heading: "❌ Regression: 3 of 12 reports",
/// "✅ No regression", or "❔ No verdict" when every report had too little
/// data (a green check there would read as "all is well" when nothing
/// was judged).
fn heading(suite: &SuiteReport) -> String {
    let total = suite.reports.len();
    let insufficient = suite.count(Verdict::InsufficientData);
    if suite.any_regression {
        format!(
            "## ❌ Regression: {} of {}",
            suite.count(Verdict::Regression),
            count(total, "report")
        )
    } else if total > 0 && insufficient == total {
        format!(
            "## ❔ No verdict: too little data in {}",
            if total == 1 {
                "the report".to_owned()
            } else {
                format!("all {total} reports")
            }
        )
    } else if insufficient > 0 {
        format!("## ✅ No regression ({insufficient} of {total} not judged: too little data)")
    } else {
        "## ✅ No regression".to_owned()
    }
}

/// One table row.
fn row(r: &MetricReport) -> String {
    let s = &r.statistics;
    let values: Vec<Option<f64>> = r.summaries.iter().map(|run| run.value).collect();
    let spark = sparkline(&values, SPARK_WIDTH);
    // In a code span so that the bars line up; a run without a value is a
    // no-break space, which neither the table nor the code span trims.
    let spark = if spark.trim().is_empty() {
        "-".to_owned()
    } else {
        format!("`{}`", spark.replace(' ', "\u{a0}"))
    };
    format!(
        "| {} | {} | {} | {} | {} | {} | {} | {} |",
        escape(&r.metric.to_string()),
        escape(&segment_label(r.segment.as_deref())),
        verdict_cell(s.verdict),
        escape(&change_text(r)),
        escape(&p_cell(s.p_worse)),
        escape(&p_cell(r.p_adjusted)),
        spark,
        s.runs
    )
}

/// A verdict with a mark that reads at a glance.
fn verdict_cell(verdict: Verdict) -> String {
    let mark = match verdict {
        Verdict::Regression => "❌",
        Verdict::Improvement => "📈",
        Verdict::Stable => "✅",
        Verdict::InsufficientData => "❔",
        Verdict::NotSignificant => "➖",
    };
    format!("{mark} {}", verdict.as_str())
}

/// Text made inert in a table cell or a list item: HTML's special
/// characters become entities (GitHub renders HTML in Markdown), the
/// characters of Markdown's own syntax become numeric references (a `|`
/// would end the cell, a backtick open a code span, `*`, `_`, `~` emphasis,
/// `[` a link, `$` GitHub's inline math), and line breaks, which would end
/// the row, become spaces.
pub(super) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '|' => out.push_str("&#124;"),
            '`' => out.push_str("&#96;"),
            '\\' => out.push_str("&#92;"),
            '*' => out.push_str("&#42;"),
            '_' => out.push_str("&#95;"),
            '~' => out.push_str("&#126;"),
            '[' => out.push_str("&#91;"),
            ']' => out.push_str("&#93;"),
            '$' => out.push_str("&#36;"),
            // A model named `@team` must not ping a team in a PR comment,
            // nor `#12` or `org/repo#12` link (and notify) an issue. GitHub
            // finds mentions and references in the rendered text, after
            // entities are decoded, so an entity would not stop them; an
            // invisible word joiner after the sign does.
            '@' => out.push_str("@\u{2060}"),
            '#' => out.push_str("#\u{2060}"),
            // Nor `https://…` or `www.…` in store text become a link.
            ':' => out.push_str("&#58;"),
            '.' if out.ends_with("www") => out.push_str("&#46;"),
            c if c.is_control() => out.push(' '),
            // A bidirectional override would reorder the text around it.
            c if super::terminal::is_unsafe(c) => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::tests::suite_report;
    use super::super::{render, Format};
    use super::*;

    #[test]
    fn suite_markdown() {
        let text = render(&suite_report(), Format::Markdown);
        assert!(text.ends_with('\n') && !text.ends_with("\n\n"), "{text:?}");
        insta::assert_snapshot!(text);
    }

    #[test]
    fn the_verdict_comes_first_and_every_report_has_a_row() {
        let suite = suite_report();
        let text = render(&suite, Format::Markdown);
        assert!(
            text.starts_with("## ❌ Regression: 5 of 12 reports\n"),
            "{text}"
        );
        let rows: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("| ") && !l.starts_with("| Metric"))
            .collect();
        assert_eq!(rows.len(), suite.reports.len());
        for row in rows {
            // Every row has the header's eight cells: no escaped pipe split one.
            assert_eq!(row.matches('|').count(), 9, "{row}");
        }
    }

    #[test]
    fn store_text_is_escaped() {
        let text = render(&suite_report(), Format::Markdown);
        assert!(!text.contains("<script>"), "{text}");
        assert!(!text.contains("</script>"), "{text}");
        assert!(text.contains("&lt;script&gt;alert(\"x\")&lt;/script&gt; &amp; 'm'"));
        // The non-UTF-8 byte arrives as U+FFFD, not as a broken row.
        assert!(text.contains("| mo\u{fffd}del |"), "{text}");
    }

    #[test]
    fn escape_neutralizes_markdown_and_html() {
        assert_eq!(
            escape("a|b`c<d>&e\nf*g_h[i](j)\\~$"),
            "a&#124;b&#96;c&lt;d&gt;&amp;e f&#42;g&#95;h&#91;i&#93;(j)&#92;&#126;&#36;"
        );
        assert_eq!(escape("gpt-4o"), "gpt-4o");
        assert_eq!(
            escape("@org/team https://x.io www.y.io"),
            "@\u{2060}org/team https&#58;//x.io www&#46;y.io"
        );
        // Issue and pull-request references, local and cross-repository.
        assert_eq!(escape("#123 org/repo#4"), "#\u{2060}123 org/repo#\u{2060}4");
        assert_eq!(escape("a\u{202e}b"), "a\u{fffd}b");
    }

    #[test]
    fn headings_say_when_nothing_regressed_or_nothing_was_judged() {
        let mut suite = suite_report();
        suite.any_regression = false;
        for r in &mut suite.reports {
            if r.statistics.verdict == Verdict::Regression {
                r.statistics.verdict = Verdict::Stable;
            }
        }
        assert_eq!(
            heading(&suite),
            "## ✅ No regression (5 of 12 not judged: too little data)"
        );
        for r in &mut suite.reports {
            r.statistics.verdict = Verdict::Stable;
        }
        assert_eq!(heading(&suite), "## ✅ No regression");
        for r in &mut suite.reports {
            r.statistics.verdict = Verdict::InsufficientData;
        }
        assert_eq!(
            heading(&suite),
            "## ❔ No verdict: too little data in all 12 reports"
        );
    }
}
