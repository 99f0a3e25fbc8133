//! Holding every report of an analysis to Holm's correction together, so
//! that more segments and metrics do not mean more false alarms.

use super::analyzer::MetricReport;
use crate::metric::MetricKind;
use crate::stats::holm;
use crate::verdict::means::MIN_RUNS_MEANS;
use crate::verdict::{
    Method, Verdict, VerdictOptions, MDE_FACTOR, MIN_DECISIONS_AUTO, MIN_RUNS_AUTO,
};

/// Applies Holm's correction to every report's regression: a report stays
/// a regression only if its Holm-adjusted p is below α. Returns the tests
/// counted.
///
/// - Each p is first put on α's scale (p · α / level), so that under
///   `--evaluations` a report's own simulated level maps to α; `p_adjusted`
///   is Holm's value on that scale, compared with α.
/// - The family is every report with a p-value that could be judged at all:
///   a report with too few runs or decisions can never be a regression, and
///   counting it would only cost the others power.
/// - `--method ols` has no p-value in its rule, so nothing is adjusted.
pub(crate) fn hold_to_holm(reports: &mut [MetricReport], options: &VerdictOptions) -> usize {
    if options.method == Method::Ols {
        return 0;
    }
    let scaled: Vec<Option<f64>> = reports
        .iter()
        .map(|r| {
            let s = &r.statistics;
            let judged = match r.metric.kind() {
                MetricKind::Rate => s.runs >= MIN_RUNS_AUTO && s.decisions >= MIN_DECISIONS_AUTO,
                MetricKind::Mean => s.runs >= MIN_RUNS_MEANS,
            };
            s.p_worse
                .filter(|_| judged)
                .map(|p| p * options.alpha / s.level)
        })
        .collect();
    let adjusted = holm(&scaled);
    let tests = scaled.iter().flatten().count();
    for (report, adjusted) in reports.iter_mut().zip(adjusted) {
        let s = &mut report.statistics;
        report.p_adjusted = adjusted;
        let Some(q) = adjusted else { continue };
        if tests <= 1 || s.verdict != Verdict::Regression || q < options.alpha {
            continue;
        }
        // A rate's data could show a decline of the size that matters when
        // its minimum detectable drop is small enough: then "stable" holds.
        // A mean has no such measure, and its move was as large as matters
        // (that made it a regression), so it stays unresolved.
        let underpowered = match report.metric.kind() {
            MetricKind::Rate => s
                .min_detectable_drop
                .is_some_and(|mde| mde > MDE_FACTOR * s.min_drop),
            MetricKind::Mean => true,
        };
        s.verdict = if underpowered {
            Verdict::NotSignificant
        } else {
            Verdict::Stable
        };
        s.notes.push(format!(
            "not a regression after Holm's correction for {tests} tests (adjusted p = {q:.4})"
        ));
        s.summary = format!(
            "Not significant after Holm's correction for {tests} tests (adjusted p = {q:.4}): {}",
            s.summary
        );
    }
    tests
}
